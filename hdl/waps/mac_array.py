"""The MAC array: ``outputs`` x ``inputs`` products of one beat and an adder tree per output."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .layouts import beat_layout, sum_bits, sums_layout

__all__ = ["MacArray", "tree_sum"]


def tree_sum(values: list):
    """The sum of ``values`` as a balanced binary tree of adders (depth ``ceil(log2(len))``)."""
    while len(values) > 1:
        values = [values[k] + values[k + 1] if k + 1 < len(values) else values[k] for k in range(0, len(values), 2)]
    return values[0]


class MacArray(wiring.Component):
    """``sum[o] = sum over i of w[o][i] * x[i]`` for every output of a beat, in one registered stage.

    Parameters: ``inputs``, ``outputs`` (1..64), ``w_bits`` (2..8), ``a_bits`` (1..8), ``grouped``
    (carry the WAPS tags ``select`` and ``group_end``).

    Ports: ``i``: in, stream of :func:`~hdl.waps.layouts.beat_layout`; ``o``: out, stream of
    :func:`~hdl.waps.layouts.sums_layout` (sums of :func:`~hdl.waps.layouts.sum_bits` bits, exact),
    the beat's tags passed along.

    Latency 1 cycle, one beat per cycle; back-pressure: ``i.ready`` while the output register is
    empty or taken in the same cycle.
    """

    def __init__(self, *, inputs: int = 16, outputs: int = 16, w_bits: int = 4, a_bits: int = 4, grouped: bool = True):
        self.inputs = integer("inputs", inputs, min=1, max=64)
        self.outputs = integer("outputs", outputs, min=1, max=64)
        self.w_bits = integer("w_bits", w_bits, min=2, max=8)
        self.a_bits = integer("a_bits", a_bits, min=1, max=8)
        if not isinstance(grouped, bool):
            raise TypeError(f"grouped must be a bool, got {grouped!r}")
        self.grouped = grouped
        self.width = sum_bits(inputs, w_bits, a_bits)
        super().__init__({
            "i": In(stream.Signature(beat_layout(inputs, outputs, w_bits, a_bits, grouped))),
            "o": Out(stream.Signature(sums_layout(outputs, self.width, grouped))),
        })

    def elaborate(self, platform):
        m = Module()
        beat = self.i.payload
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.ready):
            m.d.sync += self.o.valid.eq(self.i.valid)
            for o in range(self.outputs):
                products = [beat.w[o][i] * beat.x[i] for i in range(self.inputs)]
                m.d.sync += self.o.payload.sum[o].eq(tree_sum(products))
            tags = ["select", "group_end", "last"] if self.grouped else ["last"]
            for tag in tags:
                m.d.sync += getattr(self.o.payload, tag).eq(getattr(beat, tag))
        return m
