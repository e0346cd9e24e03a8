"""Payload layouts and shared constants of the HAP array (``hap_array``).

A *step* is one outer product of a tile: the weight column of the tile's PE rows (one 4-bit digit
per row) and the residual row of one DAR group (``cols`` residuals of 8 bits) at the group's
precision, with the group's ``base - z`` for the zero-point term. A *result* is one output row of a
drained tile: ``cols`` accumulators of one output channel.
"""

from amaranth.hdl import signed
from amaranth.lib import data

from ..params import integer

__all__ = [
    "ACT_BITS",
    "DIGIT_BITS",
    "SHIFTED_BITS",
    "check_array",
    "digit_shape",
    "step_layout",
    "result_layout",
]

#: Bits of an activation residual (the largest precision).
ACT_BITS = 8
#: Bits of a weight digit held by one PE row.
DIGIT_BITS = 4
#: A digit extended to 5 signed bits (-8..15) and shifted left by up to ``ACT_BITS - 1``: -1024..1920.
SHIFTED_BITS = 12


def check_array(rows, cols, acc_bits) -> None:
    """Validate the array parameters (``TypeError``/``ValueError``)."""
    integer("rows", rows, min=2, max=64)
    integer("cols", cols, min=1, max=64)
    integer("acc_bits", acc_bits, min=16, max=64)


def digit_shape():
    """A digit extended by its row's kind: signed -8..7 (a 4-bit channel, or the high nibble of an
    8-bit one) or unsigned 0..15 (the low nibble of an 8-bit channel)."""
    return signed(DIGIT_BITS + 1)


def step_layout(rows: int, cols: int) -> data.StructLayout:
    """One step of a tile.

    * ``weights``: ``rows`` digits of 4 bits: the weight column ``W[o, k]`` of the tile's channels
      (two's complement for a 4-bit channel; for an 8-bit channel ``W >> 4`` in its high row and
      ``W & 15`` in the row below it).
    * ``low``: bit ``i`` set when row ``i`` is the low nibble of the 8-bit channel of row ``i - 1``
      (the same in every step of a tile; bit 0 never set, no two adjacent bits set).
    * ``residuals``: ``cols`` residuals ``r[k, p]`` (0..255) of the group, 0 in unused columns.
    * ``precision``: the group's precision ``p_k`` (0..8; every residual is below ``2^p_k``).
    * ``base``: ``b[k, j] - z`` (-255..255), the zero-point term's operand.
    * ``last``: the tile's last step.
    """
    return data.StructLayout({
        "weights": data.ArrayLayout(DIGIT_BITS, rows),
        "low": rows,
        "residuals": data.ArrayLayout(ACT_BITS, cols),
        "precision": range(ACT_BITS + 1),
        "base": signed(ACT_BITS + 1),
        "last": 1,
    })


def result_layout(cols: int, acc_bits: int) -> data.StructLayout:
    """One output row: ``values`` (``cols`` accumulators ``Y[o, p]``, signed, modulo ``2^acc_bits``)
    and ``last`` (the tile's last output row)."""
    return data.StructLayout({"values": data.ArrayLayout(signed(acc_bits), cols), "last": 1})
