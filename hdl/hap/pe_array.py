"""HAP PE array: ``rows`` x ``cols`` bit-serial PEs, output-stationary, one outer product per step."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import ACT_BITS, DIGIT_BITS, SHIFTED_BITS, check_array
from .pe import BitSerialPE

__all__ = ["PEArray", "extend_digit"]


def extend_digit(digit, low):
    """A 4-bit digit as a signed 5-bit value: zero-extended in a low-nibble row, sign-extended else."""
    return Mux(low, digit.as_unsigned(), digit.as_signed())


class PEArray(wiring.Component):
    """The array proper: PE ``(o, c)`` accumulates ``digit[o] * r[c]`` of every step, bit-serially.

    Each row holds its digit in a shift register (extended by the row's kind, shifted left one place
    per bit cycle) and each column its residual in a shift register (shifted right one place per bit
    cycle, its low bit fed down the column), so that bit cycle ``i`` of a step adds ``digit << i`` where
    residual bit ``i`` is 1: the outer product of the weight column and the residual row, LSB first.

    Parameters: ``rows`` (2..64), ``cols`` (1..64), ``acc_bits`` (16..64).

    Ports:

    * ``load``: in; with it ``weights`` (``rows`` 4-bit digits), ``low`` (row kinds) and ``residuals``
      (``cols`` 8-bit values) are taken into the shift registers.
    * ``step``: in; one bit cycle: the PEs add the current place, the registers shift. ``load`` and
      ``step`` together: the step uses the registers' old contents, the load replaces them (the next
      step starts in the last bit cycle of the previous one).
    * ``clear``: in; every accumulator to 0.
    * ``acc``: out, ``rows`` x ``cols`` accumulators (``signed(acc_bits)``, modulo ``2^acc_bits``).

    Latency: an accumulator shows a bit cycle's addition in the next cycle. Throughput: one bit of
    every residual per cycle, ``rows * cols`` PEs busy in every bit cycle.
    """

    def __init__(self, *, rows: int = 8, cols: int = 16, acc_bits: int = 32):
        check_array(rows, cols, acc_bits)
        self.rows, self.cols, self.acc_bits = rows, cols, acc_bits
        super().__init__({
            "load": In(1),
            "weights": In(data.ArrayLayout(DIGIT_BITS, rows)),
            "low": In(rows),
            "residuals": In(data.ArrayLayout(ACT_BITS, cols)),
            "step": In(1),
            "clear": In(1),
            "acc": Out(data.ArrayLayout(data.ArrayLayout(signed(acc_bits), cols), rows)),
        })

    def elaborate(self, platform):
        m = Module()
        places = [Signal(signed(SHIFTED_BITS), name=f"place{o}") for o in range(self.rows)]
        residuals = [Signal(ACT_BITS, name=f"residual{c}") for c in range(self.cols)]
        with m.If(self.load):
            for o, place in enumerate(places):
                m.d.sync += place.eq(extend_digit(self.weights[o], self.low[o]))
            for c, residual in enumerate(residuals):
                m.d.sync += residual.eq(self.residuals[c])
        with m.Elif(self.step):
            for place in places:
                m.d.sync += place.eq(place << 1)
            for residual in residuals:
                m.d.sync += residual.eq(residual >> 1)
        for o in range(self.rows):
            for c in range(self.cols):
                pe = m.submodules[f"pe_{o}_{c}"] = BitSerialPE(acc_bits=self.acc_bits)
                m.d.comb += [
                    pe.weight.eq(places[o]),
                    pe.bit.eq(residuals[c][0]),
                    pe.enable.eq(self.step),
                    pe.clear.eq(self.clear),
                    self.acc[o][c].eq(pe.acc),
                ]
        return m
