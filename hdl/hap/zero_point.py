"""HAP zero-point reuse unit: the term ``sum_k W[o, k] * (b[k, j] - z)`` of every row of a tile."""

from amaranth.hdl import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import ACT_BITS, DIGIT_BITS, check_array
from .pe_array import extend_digit

__all__ = ["ZeroPointUnit"]


class ZeroPointUnit(wiring.Component):
    """One accumulator per PE row: ``term[o] += digit[o] * (b - z)`` for every step of a tile.

    With intra-channel groups a step's ``b - z`` is the same for all ``cols`` columns of the tile, so
    the zero-point term is computed once per row (``rows`` small multipliers, 5 x 9 bits) instead of
    once per PE, and added to every column when the tile drains: the reuse of the zero-point term.
    It also carries the steps of precision 0, which need no bit cycle of the array.

    Parameters: ``rows`` (2..64), ``cols`` (unused; the array's, for a uniform constructor), ``acc_bits``.

    Ports: ``add`` in (one step now: ``weights``, ``low``, ``base``); ``clear`` in (terms to 0, wins
    over ``add``); ``terms`` out, ``rows`` x ``signed(acc_bits)``. Latency 1 cycle; one step per cycle.
    """

    def __init__(self, *, rows: int = 8, cols: int = 16, acc_bits: int = 32):
        check_array(rows, cols, acc_bits)
        self.rows, self.acc_bits = rows, acc_bits
        super().__init__({
            "add": In(1),
            "weights": In(data.ArrayLayout(DIGIT_BITS, rows)),
            "low": In(rows),
            "base": In(signed(ACT_BITS + 1)),
            "clear": In(1),
            "terms": Out(data.ArrayLayout(signed(acc_bits), rows)),
        })

    def elaborate(self, platform):
        m = Module()
        for o in range(self.rows):
            with m.If(self.clear):
                m.d.sync += self.terms[o].eq(0)
            with m.Elif(self.add):
                m.d.sync += self.terms[o].eq(self.terms[o] + extend_digit(self.weights[o], self.low[o]) * self.base)
        return m
