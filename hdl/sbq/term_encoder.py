"""SBQ term encoder: leading-one term encoding with sign-extension elimination (SBQ paper, section III-A)."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer

__all__ = ["TermEncoder", "term_slots"]


def term_slots(bits: int) -> int:
    """Number of term slots ``T`` of a ``bits``-wide operand (``bits`` 4 or 8)."""
    return integer("bits", bits, choices=(4, 8)) // 2


def _leading_one(m: Module, value, name: str):
    """Priority encoder: ``(found, position)`` of the most significant 1 bit of ``value``."""
    found = Signal(name=f"{name}_found")
    position = Signal(range(max(len(value), 2)), name=f"{name}_pos")
    m.d.comb += found.eq(value.any())
    for p in range(len(value)):  # later (higher) assignments win
        with m.If(value[p]):
            m.d.comb += position.eq(p)
    return found, position


def _bits_below(m: Module, value, position, name: str):
    """``value`` with every bit at or above ``position`` cleared."""
    result = Signal(len(value), name=name)
    for p in range(1, len(value) + 1):
        with m.If(position == p):
            m.d.comb += result.eq(value[:p])
    return result


class TermEncoder(wiring.Component):
    """Converts a signed operand into at most ``T = bits // 2`` SBQ terms, most significant first.

    Ports (purely combinational, no clock or reset; latency 0, one operand per evaluation):

    * ``x``: input, ``signed(bits)``.
    * ``mag``: output, ``2*T`` bits, slot ``i`` magnitude (1..3) in bits ``[2i+1:2i]``.
    * ``off``: output, ``3*T`` bits, slot ``i`` offset in bits ``[3i+2:3i]``.
    * ``neg``: output, ``T`` bits, bit ``i`` set when slot ``i`` is negative (only slot 0 can be).
    * ``valid``: output, ``T`` bits, bit ``i`` set when slot ``i`` holds a term.

    Invalid slots are all zero. A negative operand first loses its sign-extension bits: the sign bit
    and the most significant 0 bit below it (position ``k``) form the term ``-2 << k``, and ``-1`` is
    the single term ``-1`` at offset 0. The bits below ``k`` (all of them for ``x >= 0``) are then
    leading-one encoded: the most significant 1 at ``p`` gives bits ``[p:p-1]`` at offset ``p-1``
    (``1`` at offset 0 when ``p == 0``), those bits are cleared, and the next slot repeats.
    """

    def __init__(self, *, bits: int = 8):
        self.slots = term_slots(bits)
        self.bits = bits
        super().__init__({
            "x": In(signed(bits)),
            "mag": Out(data.ArrayLayout(2, self.slots)),
            "off": Out(data.ArrayLayout(3, self.slots)),
            "neg": Out(self.slots),
            "valid": Out(self.slots),
        })

    def elaborate(self, platform):
        m = Module()
        width = self.bits - 1
        low = self.x[:width]
        negative = self.x[width]

        has_zero, k = _leading_one(m, ~low, "sign_ext")
        rest = Signal(width, name="rest0")
        m.d.comb += rest.eq(Mux(negative, _bits_below(m, low, k, "below_k"), low))

        # Leading-one terms of the non-negative rest; a negative operand uses one slot fewer.
        positive = []
        for s in range(self.slots):
            found, p = _leading_one(m, rest, f"term{s}")
            mag, off = Signal(2, name=f"term{s}_mag"), Signal(3, name=f"term{s}_off")
            below_p = Signal.like(p, name=f"term{s}_low")  # p - 1, the term's offset
            m.d.comb += below_p.eq(p - 1)
            with m.If(found & (p == 0)):
                m.d.comb += mag.eq(1)
            with m.Elif(found):
                m.d.comb += [mag.eq(rest.bit_select(below_p, 2)), off.eq(below_p)]
            positive.append((found, mag, off))
            if s + 1 < self.slots:
                cleared = Signal(width, name=f"rest{s + 1}")
                m.d.comb += cleared.eq(Mux(p == 0, 0, _bits_below(m, rest, below_p, f"below{s}")))
                rest = cleared

        m.d.comb += self.neg.eq(negative)  # slot 0 only; every bit of the port must be driven
        for s in range(self.slots):
            with m.If(negative):
                if s == 0:
                    m.d.comb += [
                        self.valid[0].eq(1),
                        self.mag[0].eq(Mux(has_zero, 2, 1)),
                        self.off[0].eq(Mux(has_zero, k, 0)),
                    ]
                else:
                    found, mag, off = positive[s - 1]
                    m.d.comb += [self.valid[s].eq(found), self.mag[s].eq(mag), self.off[s].eq(off)]
            with m.Else():
                found, mag, off = positive[s]
                m.d.comb += [self.valid[s].eq(found), self.mag[s].eq(mag), self.off[s].eq(off)]
        return m
