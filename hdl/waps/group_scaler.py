"""The fixed shifter and the 3-to-1 multiplexer of WAPS: a group partial sum times its group's scale."""

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..params import integer

__all__ = ["GroupScaler"]


class GroupScaler(wiring.Component):
    """``scaled = S``, ``S - (S >> n)`` or ``S + (S >> n)`` (``>>`` arithmetic: floor) by ``select``
    (0, 1, 2; 3 acts as 0). Combinational.

    Parameters: ``width`` (of ``S``, 2..64), ``n`` (the fixed shift, 1..16).

    Ports: ``value``: in, signed ``width``; ``select``: in, 2 bits; ``scaled``: out, signed
    ``width + 1`` (every result fits: ``|S + (S >> n)| <= 1.5 |S| + 1``).
    """

    def __init__(self, *, width: int = 24, n: int = 4):
        self.width = integer("width", width, min=2, max=64)
        self.n = integer("n", n, min=1, max=16)
        super().__init__({"value": In(signed(width)), "select": In(2), "scaled": Out(signed(width + 1))})

    def elaborate(self, platform):
        m = Module()
        shifted = self.value >> self.n  # a fixed arithmetic shift: wires only
        with m.Switch(self.select):
            with m.Case(1):
                m.d.comb += self.scaled.eq(self.value - shifted)
            with m.Case(2):
                m.d.comb += self.scaled.eq(self.value + shifted)
            with m.Default():
                m.d.comb += self.scaled.eq(self.value)
        return m
