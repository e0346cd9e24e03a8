"""eDQA de-quantizer: ``q`` and shift errors ``se`` of a channel back to float32 activations.

``v = float32(a) * scale`` with ``a = q * 2^m + se`` (important channel, ``scale = delta_Nm``) or
``a = q`` (other channel, ``scale = delta_N``): one multiplication of an (N + m)-bit integer by the
24-bit significand of the scale, then the float32 rounding of the exact product (round to nearest
even, subnormal results kept, overflow to infinity), as ``docs/edqa.md`` "De-quantization" defines.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .channel import ChannelCommand, StallPipeline
from .float32 import leading_zeros, trailing_zeros
from .quantizer import check_bits, quantized_layout

__all__ = ["DeQuantizer", "dequantizer_cmd_layout", "value_layout", "DEQUANT_STATUS_LAYOUT"]

#: Sticky error flag of the de-quantizer.
DEQUANT_STATUS_LAYOUT = data.StructLayout({"bad_scale": 1})

INFINITY = 0x7F800000


def dequantizer_cmd_layout(max_length: int) -> data.StructLayout:
    """One channel: its length, importance and the float32 bits of its scale (``delta_Nm`` for an
    important channel, ``delta_N`` otherwise)."""
    return data.StructLayout({"length": range(max_length + 1), "important": 1, "scale": 32})


#: One de-quantized element: the float32 bits and ``last`` of its channel.
value_layout = data.StructLayout({"value": 32, "last": 1})


class DeQuantizer(wiring.Component):
    """De-quantizes channels, one element per cycle.

    Parameters: ``n_bits`` (N, 2..8), ``m_extra`` (m, 1..3), ``max_length`` (longest channel).

    Ports:

    * ``cmd``: in, stream of :func:`dequantizer_cmd_layout`: the next channel, taken when the previous
      channel's elements have all been taken; ``length`` 0 is an empty channel.
    * ``data``: in, stream of :func:`~hdl.edqa.quantizer.quantized_layout` (its ``last`` is ignored;
      ``se`` is ignored for an unimportant channel): the channel's elements in order.
    * ``out``: out, stream of :data:`value_layout`, one per element, ``last`` on the channel's final one.
    * ``status``: out, :data:`DEQUANT_STATUS_LAYOUT`, sticky until ``clear``: ``bad_scale`` (a
      channel's scale was not a positive, finite, non-zero float32: its values are all +0.0).
    * ``clear``: in, clears ``status``.

    Latency: 8 cycles from a ``data`` transfer to its ``out`` element. Throughput: one element per
    cycle. Back-pressure: the whole pipeline holds while ``out`` is not ready.
    """

    LATENCY = 8

    def __init__(self, *, n_bits: int = 3, m_extra: int = 3, max_length: int = 4096):
        check_bits(n_bits, m_extra)
        integer("max_length", max_length, min=1, max=65535)
        self.n_bits, self.m_extra, self.max_length = n_bits, m_extra, max_length
        super().__init__({
            "cmd": In(stream.Signature(dequantizer_cmd_layout(max_length))),
            "data": In(stream.Signature(quantized_layout(n_bits, m_extra))),
            "out": Out(stream.Signature(value_layout)),
            "status": Out(DEQUANT_STATUS_LAYOUT),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        n, mx = self.n_bits, self.m_extra
        wide = n + mx
        prod_bits = wide + 24  # |a| <= 2^(wide-1): wide bits times the 24-bit significand

        # The channel: its element count, and its scale with the leading zeros counted once (a
        # subnormal scale gets its leading one in stage 1); the pipeline moves as a whole.
        ch = ChannelCommand(m, self.cmd, self.data, self.cmd.payload.scale, self.max_length, "scale")
        pipe = StallPipeline(m, self.LATENCY, take=ch.take, first_last=ch.one, ready=self.out.ready)
        advance, valid, last, stage = pipe.advance, pipe.valid, pipe.last, pipe.stage
        m.d.comb += self.data.ready.eq(advance & ~ch.empty)

        # Stage 1: the integer a, as sign and magnitude; the channel's scale travels with it.
        a = Signal(signed(wide + 1))
        q, se = self.data.payload.q, self.data.payload.se
        m.d.comb += a.eq(Mux(ch.important, (q << mx) | se, q))
        sign1 = stage(1, a < 0, "sign")
        mag1 = stage(1, Mux(a < 0, -a, a)[:wide], "mag")
        sig1 = stage(1, (ch.significand << ch.lz)[:24], "scale_sig")
        exp1 = stage(1, ch.exponent - ch.lz, "scale_exp")
        bad1 = stage(1, ch.bad, "bad")

        # Stage 2: the exact product |a| * significand; value = product * 2^exp.
        product2 = stage(2, mag1 * sig1, "product")
        exp2, sign2, zero2 = stage(2, exp1, "exp"), stage(2, sign1, "sign"), stage(2, (mag1 == 0) | bad1, "zero")

        # Stage 3: the leading zeros of the product.
        lz3 = stage(3, leading_zeros(m, product2, "product_lz"), "lz")
        tz3 = stage(3, trailing_zeros(m, product2, "product_tz"), "tz")
        product3, exp3 = stage(3, product2, "product"), stage(3, exp2, "exp")
        sign3, zero3 = stage(3, sign2, "sign"), stage(3, zero2, "zero")

        # Stage 4: where to round. The float32 result keeps 24 bits from the product's leading one,
        # but no bit below 2^-149 (a subnormal result): ``drop`` low bits are rounded away (a
        # negative ``drop`` shifts left, exactly).
        normal_drop = Signal(signed(8))
        subnormal_drop = Signal(signed(11))
        m.d.comb += [normal_drop.eq(prod_bits - 24 - lz3), subnormal_drop.eq(-149 - exp3)]
        drop4 = stage(4, Mux(subnormal_drop > normal_drop, subnormal_drop, normal_drop), "drop")
        tz4 = stage(4, tz3, "tz")
        product4, exp4 = stage(4, product3, "product"), stage(4, exp3, "exp")
        sign4, zero4 = stage(4, sign3, "sign"), stage(4, zero3, "zero")

        # Stage 4s: the shift amounts and what the drop means, registered ahead of the shifters.
        right4 = stage("4s", Mux(drop4 > 0, Mux(drop4 > prod_bits, prod_bits + 1, drop4), 0).as_unsigned()[:6], "right")
        left4 = stage("4s", Mux(drop4 < 0, -drop4, 0).as_unsigned()[:5], "left")
        rounding4 = stage("4s", drop4 > 0, "rounding")
        gone4 = stage("4s", drop4 > prod_bits, "gone")  # below half the smallest subnormal: 0
        field4 = stage("4s", exp4 + drop4 + 149, "field")  # exponent field minus the hidden bit
        tz4, product4 = stage("4s", tz4, "tz"), stage("4s", product4, "product")
        sign4, zero4 = stage("4s", sign4, "sign"), stage("4s", zero4, "zero")

        # Stage 5: shift to 24 bits: the kept bits, the round bit and the sticky bit below it.
        halves = Signal(prod_bits + 1)  # the kept bits with the round bit below them
        m.d.comb += halves.eq(Cat(Const(0, 1), product4) >> right4)
        below = Signal()  # the sticky bit: a 1 among the dropped bits under the round bit
        m.d.comb += below.eq(tz4 + 1 < right4)
        kept5 = stage(5, halves[1:26], "kept")
        round5, sticky5 = stage(5, halves[0], "round"), stage(5, below, "sticky")
        exact5 = stage(5, (product4 << left4)[:26], "exact")
        rounding5, gone5, field5 = stage(5, rounding4, "rounding"), stage(5, gone4, "gone"), stage(5, field4, "field")
        sign5, zero5 = stage(5, sign4, "sign"), stage(5, zero4, "zero")

        # Stage 6: round to nearest, ties to even.
        rounded = Mux(rounding5, kept5 + (round5 & (sticky5 | kept5[0])), exact5)
        sig6 = stage(6, Mux(gone5, 0, rounded)[:26], "sig")
        field6, sign6, zero6 = stage(6, field5, "field"), stage(6, sign5, "sign"), stage(6, zero5, "zero")

        # Stage 7: assemble the bits; a sum that reaches the all-ones exponent is an infinity.
        total = Signal(signed(36))
        m.d.comb += total.eq((field6 << 23) + sig6)
        overflow = total >= INFINITY
        magnitude = Mux(overflow, INFINITY, total[:31])
        value7 = stage(7, Mux(zero6, 0, Cat(magnitude, sign6)), "value")

        m.d.comb += [
            self.out.valid.eq(valid[-1]),
            self.out.payload.value.eq(value7),
            self.out.payload.last.eq(last[-1]),
        ]
        with m.If(self.clear):
            m.d.sync += self.status.eq(0)
        with m.Elif(ch.load & ch.bad_scale):
            m.d.sync += self.status.bad_scale.eq(1)
        return m
