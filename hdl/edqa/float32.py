"""IEEE-754 binary32 pieces shared by the eDQA datapaths: field layout, classification, and a
leading-zero count for normalizing subnormal significands.

A finite float32 is ``(-1)^sign * significand * 2^exponent`` with a 24-bit integer ``significand``:
``2^23 + fraction`` and ``exponent = biased - 150`` for a normal number, ``fraction`` and
``exponent = -149`` for a subnormal one (``biased == 0``).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data

__all__ = ["Float32Layout", "BIAS_SHIFT", "unpack", "leading_zeros", "trailing_zeros"]

#: The bit fields of a binary32 value, least significant first.
Float32Layout = data.StructLayout({"fraction": 23, "biased": 8, "sign": 1})

#: ``exponent = biased - BIAS_SHIFT`` for the 24-bit integer significand of a normal number.
BIAS_SHIFT = 150


def unpack(m: Module, bits, name: str):
    """Split float32 ``bits`` (a 32-bit value) into named signals.

    Returns a dict: ``sign``; ``significand`` (24 bits, the hidden bit included for normal numbers);
    ``exponent`` (``signed(10)``: the power of two of the significand's least significant bit);
    ``zero``, ``subnormal``, ``infinite``, ``nan``.
    """
    view = data.View(Float32Layout, bits)
    normal = Signal(name=f"{name}_normal")
    out = {
        "sign": Signal(name=f"{name}_sign"),
        "significand": Signal(24, name=f"{name}_significand"),
        "exponent": Signal(signed(10), name=f"{name}_exponent"),
        "zero": Signal(name=f"{name}_zero"),
        "subnormal": Signal(name=f"{name}_subnormal"),
        "infinite": Signal(name=f"{name}_infinite"),
        "nan": Signal(name=f"{name}_nan"),
    }
    all_ones = view.biased == 0xFF
    m.d.comb += [
        normal.eq((view.biased != 0) & ~all_ones),
        out["sign"].eq(view.sign),
        out["significand"].eq(Cat(view.fraction, normal)),
        # biased - 150 for a normal number; a subnormal one scales like biased == 1: 1 - 150 = -149.
        out["exponent"].eq(Mux(view.biased == 0, 1, view.biased) - BIAS_SHIFT),
        out["zero"].eq((view.biased == 0) & (view.fraction == 0)),
        out["subnormal"].eq((view.biased == 0) & (view.fraction != 0)),
        out["infinite"].eq(all_ones & (view.fraction == 0)),
        out["nan"].eq(all_ones & (view.fraction != 0)),
    ]
    return out


def leading_zeros(m: Module, value, name: str):
    """The number of leading zero bits of ``value`` (``len(value)`` when it is 0), as a Mux chain
    (a continuous assignment in Verilog, so that Icarus evaluates it from time 0)."""
    width = len(value)
    count = Const(width, range(width + 1))
    for position in range(width):  # the highest set bit wins: it is applied last
        count = Mux(value[position], width - 1 - position, count)
    result = Signal(range(width + 1), name=name)
    m.d.comb += result.eq(count)
    return result


def trailing_zeros(m: Module, value, name: str):
    """The number of trailing zero bits of ``value`` (``len(value)`` when it is 0): computed a stage
    ahead, it turns the sticky bit of a rounding into a compare (``zeros < dropped bits``)."""
    width = len(value)
    count = Const(width, range(width + 1))
    for position in reversed(range(width)):  # the lowest set bit wins: it is applied last
        count = Mux(value[position], position, count)
    result = Signal(range(width + 1), name=name)
    m.d.comb += result.eq(count)
    return result
