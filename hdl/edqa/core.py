"""The eDQA core: quantizer + Huffman encoder one way, Huffman decoder + de-quantizer the other."""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from ..skid import SkidBuffer
from .bit_packer import word_layout
from .dequantizer import DeQuantizer, dequantizer_cmd_layout, value_layout
from .huffman_decoder import HuffmanDecoder
from .huffman_encoder import HuffmanEncoder
from .quantizer import Quantizer, check_bits, quantizer_cmd_layout

__all__ = ["EdqaCore", "CORE_STATUS_LAYOUT", "q_layout"]

#: Sticky error flags of the core, cleared by ``clear``.
CORE_STATUS_LAYOUT = data.StructLayout({
    "nonfinite": 1, "quant_bad_scale": 1, "dequant_bad_scale": 1,
    "bad_codebook": 1, "truncated": 1, "overlong": 1, "corrupt": 1,
})


def q_layout(n_bits: int) -> data.StructLayout:
    """A quantized value and ``last`` of its channel (``q_out``, ``q_in``: ``last`` is ignored there)."""
    return data.StructLayout({"q": signed(n_bits), "last": 1})


class EdqaCore(wiring.Component):
    """Quantizes channels into ``q`` and packets of Huffman-coded shift errors, and back.

    Parameters: ``n_bits`` (N, 2..8), ``m_extra`` (m, 1..3), ``max_length`` (longest channel).

    Quantization (one channel after another):

    * ``q_cmd``: in, stream of :func:`~hdl.edqa.quantizer.quantizer_cmd_layout`: length, importance
      and the float32 inverse scale (``inv_Nm`` important, ``inv_N`` other).
    * ``q_data``: in, stream of 32 bits: the channel's float32 activations.
    * ``q_out``: out, stream of :func:`q_layout`: ``q`` of each element.
    * ``packet_out``: out, stream of :data:`~hdl.edqa.bit_packer.word_layout`: for an important
      channel, its packet (codebook, ``B``, payload), after its last ``q``; none for the others.

    De-quantization (one channel after another, independent of quantization):

    * ``d_cmd``: in, stream of :func:`~hdl.edqa.dequantizer.dequantizer_cmd_layout`: length,
      importance and the float32 scale (``delta_Nm`` important, ``delta_N`` other).
    * ``q_in``: in, stream of :func:`q_layout`: ``q`` of each element.
    * ``packet_in``: in, stream of :data:`~hdl.edqa.bit_packer.word_layout`: the packet of an
      important channel (none for the others).
    * ``d_out``: out, stream of :data:`~hdl.edqa.dequantizer.value_layout`: the float32 activations.

    * ``status``: out, :data:`CORE_STATUS_LAYOUT`, sticky until ``clear`` (in).

    Timing, with full streams (:meth:`quantize_cycles`, :meth:`dequantize_cycles`): quantization
    takes an element per cycle; its results pass a register slice on their way to ``q_out`` and the
    encoder, which builds the code once the channel's last shift error is in and then sends the
    packet (:meth:`HuffmanEncoder.packet_cycles <hdl.edqa.huffman_encoder.HuffmanEncoder.packet_cycles>`);
    the next command is taken when the quantizer is free and, for an important channel, the encoder
    too. De-quantization takes an element per cycle once the decoder has read the packet's header
    and first two payload words (:meth:`HuffmanDecoder.channel_cycles
    <hdl.edqa.huffman_decoder.HuffmanDecoder.channel_cycles>`); its results pass a register slice.
    """

    def __init__(self, *, n_bits: int = 3, m_extra: int = 3, max_length: int = 4096):
        check_bits(n_bits, m_extra)
        integer("max_length", max_length, min=1, max=65535)
        self.n_bits, self.m_extra, self.max_length = n_bits, m_extra, max_length
        super().__init__({
            "q_cmd": In(stream.Signature(quantizer_cmd_layout(max_length))),
            "q_data": In(stream.Signature(32)),
            "q_out": Out(stream.Signature(q_layout(n_bits))),
            "packet_out": Out(stream.Signature(word_layout)),
            "d_cmd": In(stream.Signature(dequantizer_cmd_layout(max_length))),
            "q_in": In(stream.Signature(q_layout(n_bits))),
            "packet_in": In(stream.Signature(word_layout)),
            "d_out": Out(stream.Signature(value_layout)),
            "status": Out(CORE_STATUS_LAYOUT),
            "clear": In(1),
        })

    @staticmethod
    def quantize_cycles(length: int, m_extra: int = 3, *, used: int | None = None, bits: int | None = None,
                        last_row_bits: int | None = None) -> int:
        """Cycles from a channel's command taken to its last ``q`` and packet word out, with full
        streams and the core idle: the first element a cycle after the command, the quantizer's
        latency and the register slice, then ``L`` elements; for an important channel (``used``,
        ``bits``, ``last_row_bits`` given, as :meth:`HuffmanEncoder.packet_cycles` takes them) the
        packet's last word, which comes after the last ``q``."""
        first = 1 + Quantizer.LATENCY + 1  # the first element reaches q_out and the encoder
        if used is None:
            return first + length - 1
        return first + HuffmanEncoder.packet_cycles(length, used, m_extra, bits, last_row_bits)

    @staticmethod
    def dequantize_cycles(length: int) -> int:
        """Cycles from a channel's command taken to its last float out, with full streams, the core
        idle and the channel important: the decoder takes the packet's first word a cycle after the
        command; each shift error then meets its ``q`` in the de-quantizer (its latency) and the
        register slice."""
        return 1 + HuffmanDecoder.channel_cycles(length) + DeQuantizer.LATENCY + 1

    def elaborate(self, platform):
        m = Module()
        params = {"m_extra": self.m_extra, "max_length": self.max_length}
        m.submodules.quantizer = quantizer = Quantizer(n_bits=self.n_bits, **params)
        m.submodules.encoder = encoder = HuffmanEncoder(**params)
        m.submodules.decoder = decoder = HuffmanDecoder(**params)
        m.submodules.dequantizer = dequantizer = DeQuantizer(n_bits=self.n_bits, **params)

        # Quantization: a command goes to the quantizer and, for an important channel, its length to
        # the encoder, in the same cycle.
        q_important = self.q_cmd.payload.important
        m.d.comb += [
            quantizer.cmd.payload.eq(self.q_cmd.payload),
            encoder.cmd.payload.eq(self.q_cmd.payload.length),
            quantizer.cmd.valid.eq(self.q_cmd.valid & (encoder.cmd.ready | ~q_important)),
            encoder.cmd.valid.eq(self.q_cmd.valid & q_important & quantizer.cmd.ready),
            self.q_cmd.ready.eq(quantizer.cmd.ready & (encoder.cmd.ready | ~q_important)),
        ]
        wiring.connect(m, wiring.flipped(self.q_data), quantizer.data)
        # Each element goes to q_out and, for an important channel, its shift error to the encoder,
        # through a register slice: the quantizer's pipeline then stalls on a register, not on the
        # encoder's state and the consumer of q_out.
        m.submodules.q_slice = q_slice = SkidBuffer(quantizer.out.payload.shape())
        wiring.connect(m, quantizer.out, q_slice.i)
        element = q_slice.o.payload
        to_encoder = element.important
        m.d.comb += [
            self.q_out.payload.q.eq(element.q),
            self.q_out.payload.last.eq(element.last),
            encoder.data.payload.eq(element.se),
            self.q_out.valid.eq(q_slice.o.valid & (encoder.data.ready | ~to_encoder)),
            encoder.data.valid.eq(q_slice.o.valid & to_encoder & self.q_out.ready),
            q_slice.o.ready.eq(self.q_out.ready & (encoder.data.ready | ~to_encoder)),
        ]
        wiring.connect(m, encoder.out, wiring.flipped(self.packet_out))

        # De-quantization: the command to the de-quantizer and, for an important channel, to the
        # decoder; each q is joined with its decoded shift error (0 for another channel).
        d_important = self.d_cmd.payload.important
        m.d.comb += [
            dequantizer.cmd.payload.eq(self.d_cmd.payload),
            decoder.cmd.payload.eq(self.d_cmd.payload.length),
            dequantizer.cmd.valid.eq(self.d_cmd.valid & (decoder.cmd.ready | ~d_important)),
            decoder.cmd.valid.eq(self.d_cmd.valid & d_important & dequantizer.cmd.ready),
            self.d_cmd.ready.eq(dequantizer.cmd.ready & (decoder.cmd.ready | ~d_important)),
        ]
        # The de-quantizer takes a channel's elements only after its command, and the next command only
        # after them: the importance of the command it took last is that of the elements it takes now.
        current_important = Signal()
        with m.If(self.d_cmd.valid & self.d_cmd.ready):
            m.d.sync += current_important.eq(d_important)
        wiring.connect(m, wiring.flipped(self.packet_in), decoder.data)
        m.d.comb += [
            dequantizer.data.payload.q.eq(self.q_in.payload.q),
            dequantizer.data.payload.se.eq(decoder.out.payload.se),
            dequantizer.data.valid.eq(self.q_in.valid & (decoder.out.valid | ~current_important)),
            self.q_in.ready.eq(dequantizer.data.ready & (decoder.out.valid | ~current_important)),
            decoder.out.ready.eq(dequantizer.data.ready & self.q_in.valid & current_important),
        ]
        m.submodules.d_slice = d_slice = SkidBuffer(dequantizer.out.payload.shape())
        wiring.connect(m, dequantizer.out, d_slice.i)
        wiring.connect(m, d_slice.o, wiring.flipped(self.d_out))

        m.d.comb += [
            quantizer.clear.eq(self.clear), dequantizer.clear.eq(self.clear), decoder.clear.eq(self.clear),
            self.status.nonfinite.eq(quantizer.status.nonfinite),
            self.status.quant_bad_scale.eq(quantizer.status.bad_scale),
            self.status.dequant_bad_scale.eq(dequantizer.status.bad_scale),
            self.status.bad_codebook.eq(decoder.status.bad_codebook),
            self.status.truncated.eq(decoder.status.truncated),
            self.status.overlong.eq(decoder.status.overlong),
            self.status.corrupt.eq(decoder.status.corrupt),
        ]
        return m
