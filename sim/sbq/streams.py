"""Cycle-driven valid/ready stream drivers for the SBQ testbenches (cocotb 2).

One coroutine per cycle drives every stream of the DUT: after the rising edge it sets the inputs
(new valid/payload for sources, a random ready for sinks), then at ``ReadOnly`` it records the
transfers of this cycle. A source keeps ``valid`` and its payload until the transfer happens (the
stream rule), so random valid gaps and ready drops exercise the back-pressure paths.
"""

from __future__ import annotations

import json
import random
from collections import deque
from pathlib import Path

import cocotb

from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer


def to_signed(value: int, width: int) -> int:
    return value - (1 << width) if value >> (width - 1) & 1 else value


def pack(fields: list[tuple[int, int]]) -> int:
    """Pack ``(value, width)`` fields, first field in the least significant bits."""
    word, shift = 0, 0
    for value, width in fields:
        word |= (value & ((1 << width) - 1)) << shift
        shift += width
    return word


class Source:
    """Drives ``<prefix>__valid``/``__payload`` from a queue of payload words."""

    def __init__(self, dut, prefix: str, p_valid: float = 1.0):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.p_valid = p_valid
        self.items: deque[int] = deque()
        self.current: int | None = None
        self.sent = 0
        self.transfer_cycles: list[int] = []

    def drop(self) -> None:
        """Forget the item on the bus (after a reset)."""
        self.current = None


class Sink:
    """Drives ``<prefix>__ready`` and collects the signed payloads."""

    def __init__(self, dut, prefix: str, width: int, p_ready: float = 1.0):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.width = width
        self.p_ready = p_ready
        self.received: list[int] = []
        self.transfer_cycles: list[int] = []


class StreamBench:
    """Clock, reset and the per-cycle loop over sources, sinks and extra per-cycle callbacks."""

    def __init__(self, dut, seed: int = 1):
        self.dut = dut
        self.rng = random.Random(seed)
        self.sources: list[Source] = []
        self.sinks: list[Sink] = []
        self.cycle = 0
        self.on_cycle = []  # callables(bench) run after the edge, before ReadOnly (may write inputs)
        self.initial: dict[str, int] = {}  # other inputs: name -> value written at start

    async def start(self) -> None:
        await Timer(1, "ns")  # Icarus: let always @* blocks start before the first write
        Clock(self.dut.clk, 10, unit="ns").start()
        for name, value in self.initial.items():
            getattr(self.dut, name).value = value
        for source in self.sources:
            source.valid.value = 0
            source.payload.value = 0
        for sink in self.sinks:
            sink.ready.value = 0
        self.dut.rst.value = 1
        await self.reset()

    async def reset(self, cycles: int = 2) -> None:
        """Synchronous reset for ``cycles`` edges; the item on each source's bus is forgotten."""
        await RisingEdge(self.dut.clk)  # also leaves a ReadOnly phase, where writes are not allowed
        self.dut.rst.value = 1
        for source in self.sources:
            source.valid.value = 0
            source.drop()
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def run(self, done, max_cycles: int) -> int:
        """Run until ``done()`` is true after a cycle; returns the cycles run. Fails on timeout."""
        for _ in range(max_cycles):
            await RisingEdge(self.dut.clk)
            self.cycle += 1
            for source in self.sources:
                if source.current is None and source.items and self.rng.random() < source.p_valid:
                    source.current = source.items.popleft()
                if source.current is None:
                    source.valid.value = 0
                else:
                    source.valid.value = 1
                    source.payload.value = source.current
            for sink in self.sinks:
                sink.ready.value = int(self.rng.random() < sink.p_ready)
            for callback in self.on_cycle:
                callback(self)
            await ReadOnly()
            for source in self.sources:
                if source.current is not None and int(source.ready.value):
                    source.current = None
                    source.sent += 1
                    source.transfer_cycles.append(self.cycle)
            for sink in self.sinks:
                if int(sink.valid.value) and int(sink.ready.value):
                    sink.received.append(to_signed(int(sink.payload.value), sink.width))
                    sink.transfer_cycles.append(self.cycle)
            if done():
                return self.cycle
        raise AssertionError(f"timeout after {max_cycles} cycles")


THROUGHPUT_DIR = Path(__file__).resolve().parents[2] / "build" / "sbq" / "throughput"


def record_throughput(design: str, params: dict, figures: dict) -> Path:
    """Write a measured throughput to ``build/sbq/throughput/<design>_<params>_<simulator>.json``."""
    key = "_".join(f"{k}{v}" for k, v in sorted(params.items()))
    simulator = cocotb.SIM_NAME.split()[0].lower()
    THROUGHPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = THROUGHPUT_DIR / f"{design}_{key}_{simulator}.json"
    path.write_text(json.dumps({"design": design, "parameters": params, "simulator": cocotb.SIM_NAME, **figures}, indent=2) + "\n")
    return path
