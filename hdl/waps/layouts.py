"""The payloads of the WAPS PE's streams, shared by :class:`~hdl.waps.pe.WapsPE`, the baseline
:class:`~hdl.waps.pe.MacPE` and their parts (and by the testbenches, which build payloads with them).

* A *beat* is one cycle of work: ``inputs`` activations ``x`` (unsigned ``a_bits`` codes) and an
  ``outputs`` x ``inputs`` tile of weights ``w`` (signed ``w_bits`` codes), ``w[o][i]`` multiplying
  ``x[i]`` for output ``o``. The WAPS beat adds the ``select`` of its group's scale (0: 1,
  1: 1 - 2^-n, 2: 1 + 2^-n; 3 acts as 0) and ``group_end`` (the group's last beat); both beats carry
  ``last`` (the job's last beat; it also ends the group). A beat never holds two groups: the offline
  layout pads a group's products to a multiple of ``inputs`` with zero weights.
* A *command* holds the requantization of one job: per output a signed ``multiplier`` and ``bias``,
  the floor ``shift`` and ``relu``.
* An *output* is one job's ``outputs`` codes, each signed ``out_bits + 1`` bits (so that both the
  unsigned ReLU range and the signed range fit one shape).
"""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

__all__ = ["sum_bits", "shift_bits", "beat_layout", "sums_layout", "totals_layout", "cmd_layout", "out_layout"]


def sum_bits(inputs: int, w_bits: int, a_bits: int) -> int:
    """Width of a beat's adder-tree sum: ``inputs`` products of magnitude below 2^(w_bits - 1 + a_bits)."""
    return w_bits + a_bits + (inputs - 1).bit_length()


def shift_bits(acc_bits: int, mult_bits: int) -> int:
    """Width of the requantization shift: 0 .. ``acc_bits + mult_bits``."""
    return (acc_bits + mult_bits).bit_length()


def beat_layout(inputs: int, outputs: int, w_bits: int, a_bits: int, grouped: bool) -> data.StructLayout:
    """One beat; ``grouped`` adds ``select`` and ``group_end`` (the WAPS PE's beat)."""
    fields = {
        "x": data.ArrayLayout(unsigned(a_bits), inputs),
        "w": data.ArrayLayout(data.ArrayLayout(signed(w_bits), inputs), outputs),
    }
    if grouped:
        fields.update({"select": 2, "group_end": 1})
    fields["last"] = 1
    return data.StructLayout(fields)


def sums_layout(outputs: int, width: int, grouped: bool) -> data.StructLayout:
    """A beat after the MAC array: one adder-tree ``sum`` per output and the beat's tags."""
    fields = {"sum": data.ArrayLayout(signed(width), outputs)}
    if grouped:
        fields.update({"select": 2, "group_end": 1})
    fields["last"] = 1
    return data.StructLayout(fields)


def totals_layout(outputs: int, acc_bits: int) -> data.ArrayLayout:
    """A job's accumulated totals ``T``, one per output."""
    return data.ArrayLayout(signed(acc_bits), outputs)


def cmd_layout(outputs: int, acc_bits: int, mult_bits: int) -> data.StructLayout:
    """One job's requantization: ``multiplier`` (signed ``mult_bits``) and ``bias`` (signed
    ``acc_bits + mult_bits``) per output, ``shift`` (0 .. ``acc_bits + mult_bits``) and ``relu``."""
    return data.StructLayout({
        "multiplier": data.ArrayLayout(signed(mult_bits), outputs),
        "bias": data.ArrayLayout(signed(acc_bits + mult_bits), outputs),
        "shift": shift_bits(acc_bits, mult_bits),
        "relu": 1,
    })


def out_layout(outputs: int, out_bits: int) -> data.ArrayLayout:
    """A job's output codes, each signed ``out_bits + 1`` bits."""
    return data.ArrayLayout(signed(out_bits + 1), outputs)
