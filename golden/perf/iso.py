"""ISO compute: every design of the comparison gets the same multiplier budget, 512 8-bit multiplier
equivalents, the setting of the HAP poster's comparison.

The unit is the *bit product*: one 1-bit x 1-bit partial product (an AND gate and its share of the
adder tree) per cycle. An 8-bit x 8-bit multiplier computes 64 of them per cycle, so the budget is
``512 * 64 = 32768`` bit products per cycle. Each design spends it on its own processing element:

==============  ==========================================  =============  ====================================
design          processing element                          bit products   elements at ISO compute
==============  ==========================================  =============  ====================================
Stripes         lane: 1 activation bit x 8-bit weight       8              4096 = 16 filters x 16 windows x 16 lanes
ShapeShifter    lane: 1 activation bit x 8-bit weight       8              4096 = 16 filters x 16 windows x 16 lanes
BitWave         PE: 8 weight bits (one bit column of a      64             512 = 16 output channels x 32 positions
                group of 8 weights) x 8 activations of 8 bits
HAP             PE: 1 activation bit x 4-bit weight         4              8192 = 32 arrays of 16 rows x 16 columns
==============  ==========================================  =============  ====================================
"""

from __future__ import annotations

__all__ = ["MULTIPLIERS", "BIT_PRODUCTS_PER_MULTIPLIER", "BUDGET", "DESIGNS", "bit_products"]

#: 8-bit multiplier equivalents of every design.
MULTIPLIERS = 512
#: Bit products per cycle of one 8-bit x 8-bit multiplier.
BIT_PRODUCTS_PER_MULTIPLIER = 64
#: Bit products per cycle of every design.
BUDGET = MULTIPLIERS * BIT_PRODUCTS_PER_MULTIPLIER

#: Design -> processing element, its bit products per cycle, and how many of them the design has.
DESIGNS = {
    "stripes": {"element": "lane: 1 activation bit x 8-bit weight", "bit_products": 8,
                "count": 16 * 16 * 16, "geometry": "16 filters x 16 windows x 16 lanes"},
    "shapeshifter": {"element": "lane: 1 activation bit x 8-bit weight", "bit_products": 8,
                     "count": 16 * 16 * 16, "geometry": "16 filters x 16 windows x 16 lanes"},
    "bitwave": {"element": "PE: one bit column of 8 weights x 8 activations of 8 bits", "bit_products": 8 * 8,
                "count": 16 * 32, "geometry": "16 output channels x 32 positions"},
    "hap": {"element": "PE: 1 activation bit x 4-bit weight", "bit_products": 4,
            "count": 32 * 16 * 16, "geometry": "32 arrays of 16 rows x 16 columns"},
}


def bit_products(design: str) -> int:
    """Bit products per cycle of ``design`` (each equals :data:`BUDGET`)."""
    d = DESIGNS[design]
    return d["bit_products"] * d["count"]
