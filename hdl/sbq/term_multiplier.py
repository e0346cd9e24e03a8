"""SBQ term multiplier: one 2-bit signed term product with its shift (SBQ paper, section III-B)."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .term_generator import PairLayout

__all__ = ["TermMultiplier", "PRODUCT_WIDTH"]

#: Largest term product magnitude: 16384, reached only by the term pair -128 x -128, i.e. the sign terms
#: ``-2 << 6`` of two operands in -128..-65 (the operands -128 x -128 have that one pair alone). An int8
#: term at offset 6 is always that sign term (a non-negative int8 has its leading one at bit 6 at most,
#: so its first term is at offset 5), hence ``3 * 3 << 12`` never occurs; the next largest magnitudes
#: are ``(-2 << 6)(3 << 5)`` = -12288 and ``(3 << 5)(3 << 5)`` = 9216. ``|product| <= 2**14``: 15 bits
#: of magnitude and a sign (``sim/sbq/test_term_multiplier.py`` checks every reachable pair, and the
#: lane and IPU benches run -128 x -128 inner products).
PRODUCT_WIDTH = 16


class TermMultiplier(wiring.Component):
    """``(+-mag_a) * (+-mag_w) << off`` of one term pair; 0 when ``valid`` is 0.

    Ports (combinational, latency 0, one product per cycle):

    * ``pair``: in, :data:`PairLayout` (magnitudes 1..3, signs, product offset 0..12).
    * ``valid``: in, 1 when ``pair`` holds a pair to compute.
    * ``product``: out, ``signed(PRODUCT_WIDTH)`` (16 bits: -16384..16384 are the products that occur).

    The multiplier proper is 2 x 2 bits (4-bit magnitude); the sign is ``neg_a ^ neg_w``. The shifted
    magnitude keeps ``PRODUCT_WIDTH - 1`` bits: enough for every pair a leading-one encoding produces
    (the largest, ``4 << 12``, comes only from the term pair -128 x -128), not for the unreachable ``9 << 12``.
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
