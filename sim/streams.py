"""Valid/ready stream tools for the cocotb testbenches of Amaranth designs.

An ``amaranth.lib.stream`` port ``NAME`` becomes the Verilog ports ``NAME__payload``, ``NAME__valid``
and ``NAME__ready``. cocotbext-axi's generic stream models fit those names as they are (its
``define_stream`` with the bus separator ``__``), so this module builds on them instead of writing
drivers again (their AXI-Stream classes do not fit: they move byte frames with ``tkeep``/``tlast``):

* :class:`StreamSource` drives ``payload``/``valid`` from a queue and holds both until ``ready``;
  a pause generator (``set_pause_generator``) leaves gaps between transfers.
* :class:`StreamSink` drives ``ready`` (a pause generator drops it) and queues what it receives.
* :class:`StreamMonitor` only watches (a stream between two parts, or a source's transfers).
* :class:`Scoreboard` checks what a sink or monitor receives against the expected items, in order,
  and fails on a wrong, missing, extra or late transfer.

Sinks and monitors give :class:`Transfer` objects: the raw ``payload`` bits, the payload decoded
with the port's Amaranth shape or layout (``value``) and the ``cycle`` of the clock edge at which the
transfer happened, counted by :class:`Testbench`. Payloads are sent as Amaranth constants built from
the RTL's own layout (``layout.const({...})``) or as plain integers.

Every model samples the handshake at the rising edge, as the flip-flops of the design do, and
drives its outputs just after it. The clock period is 10 ns; ``rst`` is synchronous, active high.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Iterable, Iterator

import cocotb
from amaranth.hdl import Const, Shape, Value
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, RisingEdge, Timer
from cocotb.utils import get_sim_steps, get_sim_time
from cocotbext.axi.stream import define_stream

__all__ = [
    "Testbench",
    "Transfer",
    "StreamSource",
    "StreamSink",
    "StreamMonitor",
    "Scoreboard",
    "ScoreboardError",
    "random_pauses",
    "bits",
    "decoder",
]

PERIOD_NS = 10

_Bus, _Transaction, _Source, _Sink, _Monitor = define_stream(
    "Amaranth", signals=["payload", "valid", "ready"], valid_signal="valid", ready_signal="ready"
)


def bits(item) -> int:
    """The payload bits of ``item``: an ``int`` (taken modulo the port width by the caller) or an
    Amaranth constant such as ``layout.const({...})``."""
    if isinstance(item, int):
        return item
    value = Value.cast(item)
    if not isinstance(value, Const):
        raise TypeError(f"a payload must be an int or an Amaranth constant, got {item!r}")
    return value.value & ((1 << len(value)) - 1)


def decoder(shape):
    """A function from raw payload bits to the value of ``shape``: an ``int`` for a plain shape
    (negative for a signed one), a ``data.Const`` view for a layout."""
    if isinstance(shape, data.Layout):
        return shape.from_bits
    shape = Shape.cast(shape)
    width = shape.width

    def decode(raw: int) -> int:
        if shape.signed and raw >> (width - 1) & 1:
            return raw - (1 << width)
        return raw

    return decode


def random_pauses(probability: float, seed: int) -> Iterator[bool]:
    """An endless pause pattern: each cycle paused with ``probability`` (a seeded, repeatable draw)."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability


class Testbench:
    """The clock, the synchronous reset and the cycle count of one cocotb test.

    Order of a test: ``tb = Testbench(dut)``; ``await tb.start()`` (a 10 ns clock on ``dut.clk``,
    ``rst`` low); create the stream models (they drive ``valid``/``ready`` low at once); then
    ``await tb.reset()``, which the models see: they start from an empty bus after it.
    :meth:`cycle` numbers the rising edges from the first; every :class:`Transfer` carries it.
    """

    def __init__(self, dut):
        self.dut = dut
        self.clock, self.reset_signal = dut.clk, dut.rst
        self._origin: int | None = None
        self._period = get_sim_steps(PERIOD_NS, "ns")

    async def start(self) -> None:
        await Timer(1, "ns")  # Icarus: let always @* blocks start before the first write
        self.reset_signal.value = 0
        # Low first: the models created next drive their outputs, and the design settles, half a
        # period before the first rising edge (cycle 0), so no model ever samples an X handshake.
        self._origin = get_sim_time("step") + self._period // 2
        Clock(self.clock, PERIOD_NS, unit="ns").start(start_high=False)

    async def reset(self, cycles: int = 2) -> None:
        """Hold ``rst`` for ``cycles`` rising edges; the models forget the item on their bus (a
        source keeps its queue) and resume after the edge that ends the reset."""
        await RisingEdge(self.clock)
        self.reset_signal.value = 1
        await ClockCycles(self.clock, cycles)
        self.reset_signal.value = 0

    def cycle(self, time_step: int | None = None) -> int:
        """The rising edge at simulation time ``time_step`` (default: now), counted from the first."""
        if self._origin is None:
            raise RuntimeError("the testbench has not been started")
        now = get_sim_time("step") if time_step is None else time_step
        return (now - self._origin) // self._period

    async def cycles(self, count: int) -> None:
        await ClockCycles(self.clock, count)

    async def until(self, condition, max_cycles: int, what: str) -> None:
        """Wait, a cycle at a time, until ``condition()`` holds; fail (``AssertionError`` naming
        ``what``) after ``max_cycles`` cycles, so that a design that stops never hangs a test."""
        for _ in range(max_cycles):
            if condition():
                return
            await ClockCycles(self.clock, 1)
        if not condition():
            raise AssertionError(f"{what}: not after {max_cycles} cycles")

    def source(self, name: str, pauses: Iterable[bool] | None = None) -> "StreamSource":
        return StreamSource(self, name, pauses)

    def sink(self, name: str, shape, pauses: Iterable[bool] | None = None) -> "StreamSink":
        return StreamSink(self, name, shape, pauses)

    def monitor(self, name: str, shape) -> "StreamMonitor":
        return StreamMonitor(self, name, shape)


class Transfer(_Transaction):
    """One transfer: ``payload`` (raw bits), ``value`` (decoded), ``cycle`` (its rising edge)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time = get_sim_time("step")
        self.cycle: int | None = None
        self.value = None

    def __repr__(self):
        return f"Transfer(cycle={self.cycle}, value={self.value!r})"


def _bus(bench: Testbench, name: str):
    return _Bus.from_prefix(bench.dut, name, bus_separator="__")


class StreamSource(_Source):
    """Drives stream ``name`` of the design from a queue: :meth:`send_nowait` / ``await send``.

    ``valid`` and the payload are held until the design takes them (``ready`` at a rising edge).
    ``pauses`` (or :meth:`set_pause_generator`) yields one bool per cycle: ``True`` keeps ``valid``
    low in a cycle where a new item could start. On reset the item on the bus is forgotten; the
    queue is kept (:meth:`clear` empties it).
    """

    def __init__(self, bench: Testbench, name: str, pauses: Iterable[bool] | None = None):
        super().__init__(_bus(bench, name), bench.clock, bench.reset_signal)
        self.bench, self.name = bench, name
        self.width = len(self.bus.payload)
        if pauses is not None:
            self.set_pause_generator(iter(pauses))

    def send_nowait(self, item) -> None:
        super().send_nowait(_Transaction(payload=bits(item) & ((1 << self.width) - 1)))

    async def send(self, item) -> None:
        await super().send(_Transaction(payload=bits(item) & ((1 << self.width) - 1)))


class _Receiving:
    """What sinks and monitors share: decoding and the cycle of each transfer."""

    _transaction_obj = Transfer

    def _setup(self, bench: Testbench, name: str, shape) -> None:
        self.bench, self.name = bench, name
        self.decode = decoder(shape)
        width = Shape.cast(shape).width if not isinstance(shape, data.Layout) else shape.size
        if width != len(self.bus.payload):
            raise ValueError(f"{name}: the shape has {width} bits, the port {len(self.bus.payload)}")

    def _recv(self, item: Transfer) -> Transfer:
        item = super()._recv(item)
        item.payload = int(item.payload)
        item.value = self.decode(item.payload)
        item.cycle = self.bench.cycle(item.time)
        return item


class StreamSink(_Receiving, _Sink):
    """Takes stream ``name`` from the design: drives ``ready`` and queues every :class:`Transfer`
    (``await recv()``, ``recv_nowait()``, ``empty()``). ``shape`` decodes the payload.
    ``pauses`` yields one bool per cycle: ``True`` drops ``ready``."""

    def __init__(self, bench: Testbench, name: str, shape, pauses: Iterable[bool] | None = None):
        super().__init__(_bus(bench, name), bench.clock, bench.reset_signal)
        self._setup(bench, name, shape)
        if pauses is not None:
            self.set_pause_generator(iter(pauses))


class StreamMonitor(_Receiving, _Monitor):
    """Watches stream ``name`` without driving it and queues every :class:`Transfer`."""

    def __init__(self, bench: Testbench, name: str, shape):
        super().__init__(_bus(bench, name), bench.clock, bench.reset_signal)
        self._setup(bench, name, shape)


class ScoreboardError(AssertionError):
    """A transfer that differs from the expected one, arrives late, or comes when none is expected."""


class Scoreboard:
    """Checks the transfers of one sink or monitor against expected items, in order.

    ``expect(item, label=..., deadline=cycle)`` queues what must arrive next; a background task
    compares every transfer as it arrives (``compare(got, want)``, default ``==`` on the decoded
    value). The first wrong, extra (nothing expected) or late (after its ``deadline`` cycle)
    transfer is recorded with its label and raised by :meth:`wait` and :meth:`finish`;
    :meth:`finish` also fails on expected items that never came.
    """

    def __init__(self, stream: StreamSink | StreamMonitor, compare=None):
        self.stream = stream
        self.compare = compare or (lambda got, want: got == want)
        self.pending: deque[tuple[object, str, int | None]] = deque()
        self.matched: list[Transfer] = []
        self.error: ScoreboardError | None = None
        self._progress = Event()
        self._task = cocotb.start_soon(self._check_all())

    def expect(self, item, label: str = "", deadline: int | None = None) -> None:
        self.pending.append((item, label or f"item {len(self.matched) + len(self.pending)}", deadline))

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = ScoreboardError(f"{self.stream.name}: {message}")
        self._progress.set()

    async def _check_all(self) -> None:
        while True:
            got = await self.stream.recv()
            if not self.pending:
                self._fail(f"extra transfer {got.value!r} at cycle {got.cycle}, nothing expected")
                continue
            want, label, deadline = self.pending.popleft()
            if not self.compare(got.value, want):
                self._fail(f"{label}: got {got.value!r}, expected {want!r} (cycle {got.cycle})")
            elif deadline is not None and got.cycle > deadline:
                self._fail(f"{label}: arrived at cycle {got.cycle}, due by cycle {deadline}")
            self.matched.append(got)
            self._progress.set()

    async def wait(self, max_cycles: int) -> None:
        """Return once every expected item has arrived; raise on an error or after ``max_cycles``."""
        deadline = self.stream.bench.cycle() + max_cycles
        while self.pending and self.error is None:
            if self.stream.bench.cycle() >= deadline:
                raise ScoreboardError(f"{self.stream.name}: {len(self.pending)} expected transfers missing after "
                                      f"{max_cycles} cycles; next: {self.pending[0][1]}")
            self._progress.clear()
            await RisingEdge(self.stream.bench.clock)
        if self.error is not None:
            raise self.error

    async def finish(self, idle_cycles: int = 0) -> None:
        """The end of a test: after ``idle_cycles`` more cycles, nothing may be pending, wrong or extra."""
        if idle_cycles:
            await ClockCycles(self.stream.bench.clock, idle_cycles)
        if self.error is not None:
            raise self.error
        if self.pending:
            raise ScoreboardError(f"{self.stream.name}: {len(self.pending)} expected transfers never came; "
                                  f"first: {self.pending[0][1]}")
        if not self.stream.empty():
            raise ScoreboardError(f"{self.stream.name}: {self.stream.count()} transfers left unchecked")
