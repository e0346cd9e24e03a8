"""The accumulator of the baseline MAC PE: one register per output, cleared at each job."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .layouts import sums_layout, totals_layout

__all__ = ["Accumulator"]


class Accumulator(wiring.Component):
    """``T[o]``: the sum of a job's beat sums, one register (D1) per output.

    Parameters: ``outputs`` (1..64), ``sum_width`` (of a beat sum), ``acc_bits`` (of D1 and ``T``,
    >= ``sum_width``; a job whose running sum leaves ``acc_bits`` wraps: the offline layout checks it).

    Ports: ``i``: in, stream of :func:`~hdl.waps.layouts.sums_layout` (ungrouped); ``o``: out, stream
    of :func:`~hdl.waps.layouts.totals_layout`: one per job, after its ``last`` beat.

    Latency 1 cycle from the last beat to ``T``; one beat per cycle. Back-pressure: ``i.ready``
    while the output register is empty or taken in the same cycle.
    """

    def __init__(self, *, outputs: int = 16, sum_width: int = 12, acc_bits: int = 24):
        self.outputs = integer("outputs", outputs, min=1, max=64)
        self.sum_width = integer("sum_width", sum_width, min=2, max=64)
        self.acc_bits = integer("acc_bits", acc_bits, min=sum_width, max=64)
        super().__init__({
            "i": In(stream.Signature(sums_layout(outputs, sum_width, grouped=False))),
            "o": Out(stream.Signature(totals_layout(outputs, acc_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        fresh = Signal(init=1)  # the next beat starts a job: D1 counts as 0
        d1 = [Signal(signed(self.acc_bits), name=f"d1_{o}") for o in range(self.outputs)]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.valid & self.i.ready):
            running = [Mux(fresh, 0, d1[o]) + self.i.payload.sum[o] for o in range(self.outputs)]
            with m.If(self.i.payload.last):
                m.d.sync += [self.o.payload[o].eq(running[o]) for o in range(self.outputs)]
                m.d.sync += [self.o.valid.eq(1), fresh.eq(1)]
            with m.Else():
                m.d.sync += [d1[o].eq(running[o]) for o in range(self.outputs)]
                m.d.sync += fresh.eq(0)
        return m
