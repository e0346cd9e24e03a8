"""Packs variable-length codes into 32-bit words, most significant bit first."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer

__all__ = ["BitPacker", "code_layout", "word_layout"]

WORD = 32

#: A packet word and whether it is the packet's last.
word_layout = data.StructLayout({"word": WORD, "last": 1})


def code_layout(max_bits: int) -> data.StructLayout:
    """One code: its bits (right-aligned), its length (1..max_bits) and whether it ends the packet."""
    return data.StructLayout({"code": max_bits, "length": range(max_bits + 1), "last": 1})


class BitPacker(wiring.Component):
    """Concatenates codes into a bit stream and cuts it into 32-bit words.

    Parameter: ``max_bits``, the longest code (1..32).

    Ports:

    * ``codes``: in, stream of :func:`code_layout`: each code is written most significant bit first
      after the previous one; ``last`` marks the final code of a packet.
    * ``words``: out, stream of :data:`word_layout`: stream bit ``i`` of the packet is bit
      ``31 - i % 32`` of word ``i // 32``; the final word is padded with zeros and marked ``last``.

    Throughput: one code per cycle while ``words`` is ready. Latency: a word comes out in the cycle
    after the code that completes it (the final word: the cycle after the final code).
    Back-pressure: ``codes`` waits while a full word is not taken.
    """

    def __init__(self, *, max_bits: int = 7):
        integer("max_bits", max_bits, min=1, max=WORD)
        self.max_bits = max_bits
        super().__init__({
            "codes": In(stream.Signature(code_layout(max_bits))),
            "words": Out(stream.Signature(word_layout)),
        })

    def elaborate(self, platform):
        m = Module()
        width = WORD + self.max_bits
        bits = Signal(width)  # the newest ``count`` bits are bits[count-1:0]; older bits lie above
        count = Signal(range(width + 1))
        final = Signal()  # the packet's last code is in: only its remaining words come out

        full = count >= WORD
        above, below = Signal(range(self.max_bits + 1)), Signal(range(WORD + 1))  # shift amounts
        m.d.comb += [above.eq(count - WORD), below.eq(WORD - count)]
        m.d.comb += [
            self.words.valid.eq(full | (final & (count != 0))),
            self.words.payload.word.eq(Mux(full, bits >> above, bits << below)[:WORD]),
            self.words.payload.last.eq(final & (count <= WORD)),
        ]
        emit = self.words.valid & self.words.ready
        m.d.comb += self.codes.ready.eq(~final & (~full | emit))
        take = self.codes.valid & self.codes.ready

        remaining = Signal.like(count)
        m.d.comb += remaining.eq(Mux(emit, Mux(full, count - WORD, 0), count))
        with m.If(take):
            m.d.sync += [
                bits.eq((bits << self.codes.payload.length) | self.codes.payload.code),
                count.eq(remaining + self.codes.payload.length),
                final.eq(self.codes.payload.last),
            ]
        with m.Else():
            m.d.sync += count.eq(remaining)
            with m.If(emit & self.words.payload.last):
                m.d.sync += final.eq(0)
        return m
