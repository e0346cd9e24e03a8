"""Fast unit tests of sub-blocks in Amaranth's own simulator (no Verilog, no cocotb).

Registered designs are verified with cocotb on Icarus and Verilator; the parts inside them (term
generator, queue, multiplier, and later Huffman coders or bit-serial PEs) are checked here against
the golden model cycle by cycle, in pure Python, in well under a second each.
"""

from __future__ import annotations

from pathlib import Path

import random

from amaranth.sim import Simulator

__all__ = ["simulate", "send", "collector"]

PERIOD = 1e-8


def simulate(dut, *testbenches, background=(), clocked: bool = True, vcd: str | Path | None = None) -> None:
    """Run the async ``testbenches`` (``async def tb(ctx)``) on ``dut`` until all return; the
    ``background`` ones (e.g. :func:`collector`) run alongside and stop with them.

    ``clocked`` adds a 100 MHz clock for the ``sync`` domain; ``vcd`` writes a waveform.
    """
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(PERIOD)
    for testbench in testbenches:
        sim.add_testbench(testbench)
    for testbench in background:
        sim.add_testbench(testbench, background=True)
    if vcd is None:
        sim.run()
    else:
        with sim.write_vcd(str(vcd)):
            sim.run()


async def send(ctx, port, payloads, *, gaps: float = 0.0, seed: int = 0, limit: int = 10_000) -> None:
    """Drive the stream ``port`` (a component's input) with ``payloads`` in order, holding each until
    it is taken; ``gaps`` is the chance of an idle cycle before each one. A payload not taken within
    ``limit`` cycles fails the test (``AssertionError``) instead of hanging it."""
    rng = random.Random(seed)
    for k, payload in enumerate(payloads):
        while rng.random() < gaps:
            ctx.set(port.valid, 0)
            await ctx.tick()
        ctx.set(port.payload, payload)
        ctx.set(port.valid, 1)
        for _ in range(limit):
            _, _, ready = await ctx.tick().sample(port.ready)
            if ready:
                break
        else:
            raise AssertionError(f"payload {k} not taken within {limit} cycles")
    ctx.set(port.valid, 0)


def collector(port, into: list, *, stalls: float = 0.0, seed: int = 1):
    """A background testbench that takes every transfer of the stream ``port`` (a component's output)
    into ``into`` as ``(cycle, payload)``, dropping ``ready`` with the chance ``stalls``."""
    async def collect(ctx):
        rng = random.Random(seed)
        cycle = 0
        while True:
            ready = rng.random() >= stalls
            ctx.set(port.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(port.valid, port.payload)
            if valid and ready:
                into.append((cycle, payload))
            cycle += 1
    return collect
