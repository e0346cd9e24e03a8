"""eDQA quantizer: float32 activations of a channel to ``q`` (N bits) and shift errors ``se`` (m bits).

A fixed-function datapath, not a general floating-point unit: one 24 x 24-bit significand product,
the float32 rounding of that product (round to nearest even, guard and sticky bits), then its
rounding to an integer (half to even), a clamp and the shift by ``m``. It gives the bits of
``docs/edqa.md`` "Quantization of one channel" for every float32 input.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .channel import ChannelCommand, StallPipeline
from .float32 import leading_zeros, trailing_zeros, unpack

__all__ = ["Quantizer", "quantizer_cmd_layout", "quantized_layout", "quantizer_out_layout", "STATUS_LAYOUT",
           "check_bits"]

#: Sticky error flags of the quantizer.
STATUS_LAYOUT = data.StructLayout({"nonfinite": 1, "bad_scale": 1})


def check_bits(n_bits: int, m_extra: int) -> None:
    """The widths the eDQA RTL supports: ``n_bits`` in 2..8, ``m_extra`` in 1..3."""
    integer("n_bits", n_bits, min=2, max=8)
    integer("m_extra", m_extra, min=1, max=3)


def quantizer_cmd_layout(max_length: int) -> data.StructLayout:
    """One channel: its length (elements), importance and the float32 bits of its inverse scale
    (``inv_Nm`` for an important channel, ``inv_N`` otherwise)."""
    return data.StructLayout({"length": range(max_length + 1), "important": 1, "inv": 32})


def quantized_layout(n_bits: int, m_extra: int) -> data.StructLayout:
    """One quantized element: ``q``, ``se`` (0 for an unimportant channel), ``last`` of its channel."""
    return data.StructLayout({"q": signed(n_bits), "se": m_extra, "last": 1})


def quantizer_out_layout(n_bits: int, m_extra: int) -> data.StructLayout:
    """What the quantizer gives per element: :func:`quantized_layout` and its channel's importance."""
    return data.StructLayout({"q": signed(n_bits), "se": m_extra, "last": 1, "important": 1})


class Quantizer(wiring.Component):
    """Quantizes channels of float32 activations, one element per cycle.

    Parameters: ``n_bits`` (N, 2..8), ``m_extra`` (m, 1..3), ``max_length`` (longest channel).

    Ports:

    * ``cmd``: in, stream of :func:`quantizer_cmd_layout`: the next channel. Taken when the previous
      channel's elements have all been taken; ``length`` 0 is an empty channel (nothing comes out).
    * ``data``: in, stream of 32 bits: the float32 elements of the current channel, in order.
    * ``out``: out, stream of :func:`quantizer_out_layout`: one per element, in order, ``last`` on the
      channel's final element, ``important`` as the channel's command said.
    * ``status``: out, :data:`STATUS_LAYOUT`, sticky until ``clear``: ``nonfinite`` (an element was
      NaN or infinite: its ``q`` and ``se`` are 0), ``bad_scale`` (a channel's ``inv`` was not a
      positive finite non-zero float32: its elements are all 0).
    * ``clear``: in, clears ``status``.

    Latency: 11 cycles from a ``data`` transfer to its ``out`` element. Throughput: one element per
    cycle. Back-pressure: the whole pipeline holds while ``out`` is not ready.
    """

    LATENCY = 11

    def __init__(self, *, n_bits: int = 3, m_extra: int = 3, max_length: int = 4096):
        check_bits(n_bits, m_extra)
        integer("max_length", max_length, min=1, max=65535)
        self.n_bits, self.m_extra, self.max_length = n_bits, m_extra, max_length
        super().__init__({
            "cmd": In(stream.Signature(quantizer_cmd_layout(max_length))),
            "data": In(stream.Signature(32)),
            "out": Out(stream.Signature(quantizer_out_layout(n_bits, m_extra))),
            "status": Out(STATUS_LAYOUT),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        n, mx = self.n_bits, self.m_extra
        wide = n + mx  # width of a before the shift

        # The channel: its element count, and its scale with the leading zeros counted once (a
        # subnormal inv gets its leading one in stage 1); the pipeline moves as a whole.
        ch = ChannelCommand(m, self.cmd, self.data, self.cmd.payload.inv, self.max_length, "inv")
        pipe = StallPipeline(m, self.LATENCY, take=ch.take, first_last=ch.one, ready=self.out.ready,
                             tags={"important": ch.important})
        advance, valid, last, important, stage = pipe.advance, pipe.valid, pipe.last, pipe.tag("important"), pipe.stage
        m.d.comb += self.data.ready.eq(advance & ~ch.empty)

        # Stage 1: the element and its channel's scale.
        x1 = stage(1, self.data.payload, "x")
        inv_sig1 = stage(1, (ch.significand << ch.lz)[:24], "inv_sig")
        inv_exp1 = stage(1, ch.exponent - ch.lz, "inv_exp")
        bad1 = stage(1, ch.bad, "bad")

        # Stage 2: classify the element, count the leading zeros of its significand.
        x = unpack(m, x1, "x")
        raw2 = stage(2, x["significand"], "raw")
        lz2 = stage(2, leading_zeros(m, x["significand"], "x_lz"), "lz")
        exp2 = stage(2, x["exponent"], "exp")
        sign2 = stage(2, x["sign"], "sign")
        nonfinite2 = stage(2, x["infinite"] | x["nan"], "nonfinite")
        zero2 = stage(2, x["zero"] | x["infinite"] | x["nan"] | bad1, "zero")
        inv_sig2 = stage(2, inv_sig1, "inv_sig")
        inv_exp2 = stage(2, inv_exp1, "inv_exp")

        # Stage 2n: normalize it (a subnormal element gets its leading one on top).
        sig2 = stage("2n", (raw2 << lz2)[:24], "sig")
        exp2 = stage("2n", exp2 - lz2, "exp")
        sign2, nonfinite2, zero2 = stage("2n", sign2, "sign"), stage("2n", nonfinite2, "nonfinite"), stage("2n", zero2, "zero")
        inv_sig2, inv_exp2 = stage("2n", inv_sig2, "inv_sig"), stage("2n", inv_exp2, "inv_exp")

        # Stage 3: two 24 x 12-bit partial products (a multiplier block each).
        low3, high3 = stage(3, sig2 * inv_sig2[:12], "low"), stage(3, sig2 * inv_sig2[12:], "high")
        exp3 = stage(3, exp2 + inv_exp2, "exp")  # the power of two of the product's bit 0
        sign3, zero3, nonfinite3 = stage(3, sign2, "sign"), stage(3, zero2, "zero"), stage(3, nonfinite2, "nonfinite")

        # Stage 4: their sum, the exact 48-bit product of the normalized significands, in [2^46, 2^48).
        product4 = stage(4, (low3 + (high3 << 12))[:48], "product")
        exp4, sign4, zero4, nonfinite4 = stage(4, exp3, "exp"), stage(4, sign3, "sign"), stage(4, zero3, "zero"), \
            stage(4, nonfinite3, "nonfinite")

        # Stage 5: float32 rounding of the product: the 24 kept bits, the round bit, the sticky bit.
        high = product4[47]
        kept5 = stage(5, Mux(high, product4[24:48], product4[23:47]), "kept")
        round5 = stage(5, Mux(high, product4[23], product4[22]), "round")
        sticky5 = stage(5, Mux(high, product4[:23].any(), product4[:22].any()), "sticky")
        exp5 = stage(5, exp4 + 23 + high, "exp")
        sign5, zero5, nonfinite5 = stage(5, sign4, "sign"), stage(5, zero4, "zero"), stage(5, nonfinite4, "nonfinite")

        # Stage 5r: round to nearest, ties to even; a carry out renormalizes.
        rounded = Signal(25)
        m.d.comb += rounded.eq(kept5 + (round5 & (sticky5 | kept5[0])))
        carry = rounded[24]
        sig5 = stage("5r", Mux(carry, rounded[1:25], rounded[:24]), "sig")
        # value = sig5 * 2^exp5 (a product that over- or underflows float32 is caught in stage 6)
        exp5 = stage("5r", exp5 + carry, "exp")
        sign5, zero5, nonfinite5 = stage("5r", sign5, "sign"), stage("5r", zero5, "zero"), stage("5r", nonfinite5, "nonfinite")

        # Stage 6: where the binary point of sig5 * 2^exp5 falls. sig5 >= 2^23, so exp5 >= -8 is at
        # least 2^15 (beyond every clamp) and exp5 <= -25 is below one half (0); otherwise the
        # integer part is sig5 >> -exp5.
        shift6 = stage(6, (-exp5)[:5], "shift")
        big6 = stage(6, ~zero5 & (exp5 >= -8), "big")
        small6 = stage(6, zero5 | (exp5 <= -25), "small")
        sig6 = stage(6, sig5, "sig")
        zeros6 = stage(6, trailing_zeros(m, sig5, "sig_tz"), "zeros")
        sign6, nonfinite6 = stage(6, sign5, "sign"), stage(6, nonfinite5, "nonfinite")

        # Stage 7: the integer part, the round bit and the sticky bit below the binary point.
        shift_less = Signal(5)
        m.d.comb += shift_less.eq(shift6 - 1)
        halves = Signal(25)  # the integer part with the round bit below it
        m.d.comb += halves.eq(sig6 >> shift_less)
        below = Signal()  # a 1 among the bits under the round bit
        m.d.comb += below.eq(zeros6 < shift_less)
        halves7, below7 = stage(7, halves, "halves"), stage(7, below, "below")
        big7, small7 = stage(7, big6, "big"), stage(7, small6, "small")
        sign7, nonfinite7 = stage(7, sign6, "sign"), stage(7, nonfinite6, "nonfinite")

        # Stage 8: round half to even.
        whole = halves7[1:]
        mag8 = stage(8, Mux(small7, 0, whole + (halves7[0] & (below7 | whole[0])))[:16], "mag")
        big8, sign8, nonfinite8 = stage(8, big7, "big"), stage(8, sign7, "sign"), stage(8, nonfinite7, "nonfinite")

        # Stage 9: clamp to the channel's range, apply the sign, split a into q and se.
        imp8 = important[9]
        cap = Signal(16)
        limit = Mux(imp8, 1 << (wide - 1), 1 << (n - 1))
        m.d.comb += cap.eq(Mux(sign8, limit, limit - 1))
        clamped = Mux(big8 | (mag8 > cap), cap, mag8)
        a = Signal(signed(wide + 1))
        m.d.comb += a.eq(Mux(sign8, -clamped, clamped))
        q9 = stage(9, Mux(imp8, a >> mx, a)[:n], "q")
        se9 = stage(9, Mux(imp8, a[:mx], 0), "se")

        m.d.comb += [
            self.out.valid.eq(valid[-1]),
            self.out.payload.q.eq(q9),
            self.out.payload.se.eq(se9),
            self.out.payload.last.eq(last[-1]),
            self.out.payload.important.eq(important[-1]),
        ]

        # Sticky status: an element flagged when it enters the pipeline's last stage.
        with m.If(self.clear):
            m.d.sync += self.status.eq(0)
        with m.Else():
            with m.If(advance & valid[9] & nonfinite8):
                m.d.sync += self.status.nonfinite.eq(1)
            with m.If(ch.load & ch.bad_scale):
                m.d.sync += self.status.bad_scale.eq(1)
        return m
