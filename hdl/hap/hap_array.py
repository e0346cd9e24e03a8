"""HAP array (``hap_array``): a bit-serial, output-stationary PE array for DAR-coded activations."""

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import check_array, result_layout, step_layout
from .pe_array import PEArray
from .sequencer import TileSequencer
from .zero_point import ZeroPointUnit

__all__ = ["HapArray"]


class HapArray(wiring.Component):
    """The HAP array: ``rows`` x ``cols`` bit-serial PEs, ``cols`` equal to the DAR group size.

    A tile (``rows`` PE rows of output channels times the ``cols`` columns of one DAR column group) is
    fed as steps, one per row ``k`` of the operand matrix, each an outer product of the tile's weight
    column and the group's residual row run in as many cycles as the group's precision (0 cycles of
    the array for precision 0). The zero-point unit adds ``digit * (b - z)`` once per row and step. When
    the tile's last step is done, the tile drains: per output channel one row of ``cols`` values
    ``Y = sum_k W r + sum_k W (b - z)``; an 8-bit channel spans two PE rows (high nibble, signed;
    low nibble, unsigned), combined as ``16 * high + low``.

    Parameters: ``rows`` (2..64, PE rows), ``cols`` (1..64, columns = DAR group size), ``acc_bits``
    (16..64, accumulator width; results are exact when they fit, arithmetic is modulo ``2^acc_bits``).

    Ports:

    * ``steps``: in, stream of :func:`~hdl.hap.layouts.step_layout`. A step of precision ``p >= 1`` is
      taken when the array is idle or in the last bit cycle of the previous step; a step of precision
      0 in any cycle of the tile's load phase; after a ``last`` step nothing is taken until the tile
      has drained.
    * ``results``: out, stream of :func:`~hdl.hap.layouts.result_layout`: ``rows - n8`` rows per tile
      (``n8`` its 8-bit channels), in PE row order, ``last`` on the final one.

    Timing, with ``steps`` always valid and ``results`` always ready (``golden.hap.cycles``): a tile
    takes ``max(E + 1, F) + 1 + rows - n8`` cycles from taking its first step to taking the next
    tile's, ``E`` the cycle its last step is taken and ``F`` the last bit cycle; in the step order of
    ``golden.hap.cycles.step_order`` that is ``max(sum p_k, K) + 1 + rows - n8``. Throughput: ``rows *
    cols`` one-bit products per cycle. Back-pressure: ``results`` not ready holds the drain;
    ``steps`` not valid leaves idle cycles; neither loses or changes a value.
    """

    def __init__(self, *, rows: int = 8, cols: int = 16, acc_bits: int = 32):
        check_array(rows, cols, acc_bits)
        self.rows, self.cols, self.acc_bits = rows, cols, acc_bits
        self.step_layout = step_layout(rows, cols)
        self.result_layout = result_layout(cols, acc_bits)
        super().__init__({
            "steps": In(stream.Signature(self.step_layout)),
            "results": Out(stream.Signature(self.result_layout)),
        })

    def elaborate(self, platform):
        m = Module()
        params = dict(rows=self.rows, cols=self.cols, acc_bits=self.acc_bits)
        m.submodules.sequencer = seq = TileSequencer(**params)
        m.submodules.array = array = PEArray(**params)
        m.submodules.zero_point = zero = ZeroPointUnit(**params)
        step = self.steps.payload
        m.d.comb += [
            seq.valid.eq(self.steps.valid),
            seq.precision.eq(step.precision),
            seq.last.eq(step.last),
            seq.low.eq(step.low),
            seq.out_ready.eq(self.results.ready),
            self.steps.ready.eq(seq.ready),
            array.load.eq(seq.load),
            array.weights.eq(step.weights),
            array.low.eq(step.low),
            array.residuals.eq(step.residuals),
            array.step.eq(seq.step),
            array.clear.eq(seq.clear),
            zero.add.eq(seq.add),
            zero.weights.eq(step.weights),
            zero.low.eq(step.low),
            zero.base.eq(step.base),
            zero.clear.eq(seq.clear),
        ]

        # The drain: row ``row`` (and ``row + 1`` for a pair), each plus its zero-point term.
        width = self.acc_bits
        acc_rows = Array(array.acc[o].as_value() for o in range(self.rows))
        terms = Array(zero.terms[o] for o in range(self.rows))
        high_bits, low_bits = Signal(self.cols * width), Signal(self.cols * width)
        high_term, low_term = Signal(signed(width)), Signal(signed(width))
        low_index = Signal(range(self.rows + 1))
        m.d.comb += [
            low_index.eq(Mux(seq.pair, seq.row + 1, seq.row)),
            high_bits.eq(acc_rows[seq.row]),
            low_bits.eq(acc_rows[low_index]),
            high_term.eq(terms[seq.row]),
            low_term.eq(terms[low_index]),
        ]
        values = []
        for c in range(self.cols):
            high = high_bits[c * width:(c + 1) * width].as_signed() + high_term
            low = low_bits[c * width:(c + 1) * width].as_signed() + low_term
            values.append(Mux(seq.pair, (high << 4) + low, high)[:width])
        m.d.comb += [
            self.results.valid.eq(seq.out_valid),
            self.results.payload.values.eq(Cat(*values)),
            self.results.payload.last.eq(seq.out_last),
        ]
        return m
