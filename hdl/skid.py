"""A two-entry register slice for a stream: breaks the combinational paths of both ``valid``/payload
(forward) and ``ready`` (backward) between a producer and its consumer."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """A stream register slice with a skid entry.

    Parameter: ``shape``, the payload's shape (any Amaranth shape or layout).

    Ports:

    * ``i``: in, stream of ``shape``. ``i.ready`` is a register (1 while the skid entry is empty), so a
      producer may compute ``valid`` late in the cycle without a path through the consumer.
    * ``o``: out, stream of ``shape``: ``o.valid`` and ``o.payload`` are registers.

    Latency: 1 cycle. Throughput: one transfer per cycle while ``o.ready`` is 1. Back-pressure: when
    ``o`` stalls, one more transfer goes into the skid entry, then ``i.ready`` falls.
    """

    def __init__(self, shape):
        self.shape = shape
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        skid_valid = Signal()
        skid = Signal.like(self.i.payload)
        m.d.comb += self.i.ready.eq(~skid_valid)
        with m.If(self.o.ready | ~self.o.valid):  # the output register is free this cycle
            with m.If(skid_valid):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(self.i.valid & self.i.ready):
            m.d.sync += [skid.eq(self.i.payload), skid_valid.eq(1)]
        return m
