"""SBQ term multiplier: one 2-bit signed term product with its shift (SBQ paper, section III-B)."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .term_generator import PairLayout

__all__ = ["TermMultiplier", "PRODUCT_WIDTH"]

#: Largest product: 3 * 3 << 12 = 36864 (int8 x int8, offsets 6 + 6), i.e. 16 bits and a sign.
PRODUCT_WIDTH = 17


class TermMultiplier(wiring.Component):
    """``(+-mag_a) * (+-mag_w) << off`` of one term pair; 0 when ``valid`` is 0.

    Ports (combinational, latency 0, one product per cycle):

    * ``pair``: in, :data:`PairLayout` (magnitudes 1..3, signs, product offset 0..12).
    * ``valid``: in, 1 when ``pair`` holds a pair to compute.
    * ``product``: out, ``signed(17)``.

    The multiplier proper is 2 x 2 bits (4-bit magnitude); the sign is ``neg_a ^ neg_w``.
    """

    def __init__(self):
        super().__init__({
            "pair": In(PairLayout),
            "valid": In(1),
            "product": Out(signed(PRODUCT_WIDTH)),
        })

    def elaborate(self, platform):
        m = Module()
        magnitude = Signal(4)
        shifted = Signal(PRODUCT_WIDTH - 1)
        m.d.comb += [
            magnitude.eq(self.pair.mag_a * self.pair.mag_w),
            shifted.eq(magnitude << self.pair.off),
        ]
        negative = self.pair.neg_a ^ self.pair.neg_w
        signed_product = Mux(negative, -shifted, shifted)
        m.d.comb += self.product.eq(Mux(self.valid, signed_product, 0))
        return m
