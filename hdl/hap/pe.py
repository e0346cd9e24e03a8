"""HAP bit-serial PE: one output-stationary accumulator fed one activation bit per cycle."""

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .layouts import SHIFTED_BITS

__all__ = ["BitSerialPE"]


class BitSerialPE(wiring.Component):
    """``acc += bit ? weight : 0`` each enabled cycle; ``acc`` is the PE's output-stationary sum.

    ``weight`` is the row's digit already shifted to the bit's place (``digit << i`` for bit ``i`` of
    the residual), shared by the PEs of a row; ``bit`` is bit ``i`` of this column's residual. So the
    PE is one AND and one adder: a step of precision ``p`` adds ``digit * r`` in ``p`` cycles.

    Parameter: ``acc_bits`` (16..64), the accumulator width (sums wrap modulo ``2^acc_bits``).

    Ports: ``weight`` in ``signed(12)``; ``bit``, ``enable``, ``clear`` in; ``acc`` out
    ``signed(acc_bits)``. ``clear`` sets ``acc`` to 0 (it wins over ``enable``). Latency 1 cycle
    (``acc`` holds the sum of the enabled cycles before this one); one bit per cycle.
    """

    def __init__(self, *, acc_bits: int = 32):
        self.acc_bits = integer("acc_bits", acc_bits, min=16, max=64)
        super().__init__({
            "weight": In(signed(SHIFTED_BITS)),
            "bit": In(1),
            "enable": In(1),
            "clear": In(1),
            "acc": Out(signed(acc_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        with m.If(self.clear):
            m.d.sync += self.acc.eq(0)
        with m.Elif(self.enable & self.bit):
            m.d.sync += self.acc.eq(self.acc + self.weight)
        return m
