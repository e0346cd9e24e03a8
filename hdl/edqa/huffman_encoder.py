"""eDQA Huffman encoder: one channel's shift errors in, its packet (codebook, bit count, codes) out."""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .bit_packer import BitPacker, word_layout
from .canonical import codes_from, counts_and_ranks, first_codes
from .tree_builder import TreeBuilder

__all__ = ["HuffmanEncoder", "codebook_word"]


def payload_lanes(m_extra: int) -> int:
    """Codes the encoder packs per cycle: the largest power of two whose longest codes (``2^m - 1``
    bits each) fit in one 32-bit word: 32 for m = 1, 8 for m = 2, 4 for m = 3."""
    longest = (1 << m_extra) - 1
    lanes = 1
    while 2 * lanes * longest <= 32:
        lanes *= 2
    return lanes


def codebook_word(lengths) -> Value:
    """The packet's word 0: the length of symbol ``s`` in bits ``[4s+3:4s]``."""
    return Cat(*(Value.cast(length)[:4] for length in lengths), Const(0, 32 - 4 * len(lengths)))


class HuffmanEncoder(wiring.Component):
    """Histogram, canonical Huffman code and packed bit stream of each channel's shift errors.

    Parameters: ``m_extra`` (m, 1..3: ``2^m`` symbols), ``max_length`` (longest channel).

    Ports:

    * ``cmd``: in, stream of ``range(max_length + 1)``: the length ``L`` of the next channel, taken
      when the previous channel's packet is out; 0 is an empty channel (no packet).
    * ``data``: in, stream of ``m`` bits: the channel's ``L`` shift errors, in order.
    * ``out``: out, stream of :data:`~hdl.edqa.bit_packer.word_layout`: the channel's packet
      (``docs/edqa.md`` "Packet"): the codebook word, the bit count ``B``, then ``ceil(B / 32)``
      payload words, ``last`` on the final one.

    Phases and cycles, for a channel of ``L`` elements using ``u`` different symbols, with full
    streams (:meth:`packet_cycles` gives the total):

    1. ``L`` cycles to take the shift errors: a histogram, and a buffer of ``L * m`` bits that holds
       ``K`` = :func:`payload_lanes` shift errors per row;
    2. one cycle to start the code-length builder, :meth:`TreeBuilder.build_cycles` (``2^m + 3u - 2``,
       at least ``2^m + 1``) for it to build the lengths and ``B``, and 3 to derive the canonical
       codes;
    3. the codebook word and the ``B`` word, a cycle each;
    4. the payload: one buffer row (``K`` codes, at most 32 bits) per cycle through a pipeline of
       ``2 + log2(K)`` stages (read, look-up, a tree of pairwise concatenations) into the bit packer,
       which gives a word in the cycle after the row that fills it. The last word comes
       ``ceil(L / K) + 4 + log2(K)`` cycles after the ``B`` word.

    The next channel's command is taken in the cycle after the last word. ``out`` back-pressure
    stops the payload pipeline; ``data`` waits while a packet is built or sent.
    """

    def __init__(self, *, m_extra: int = 3, max_length: int = 4096):
        integer("m_extra", m_extra, min=1, max=3)
        integer("max_length", max_length, min=1, max=65535)
        self.m_extra, self.max_length = m_extra, max_length
        self.symbols = 1 << m_extra
        self.max_code = self.symbols - 1  # the longest code
        self.lanes = payload_lanes(m_extra)
        super().__init__({
            "cmd": In(stream.Signature(range(max_length + 1))),
            "data": In(stream.Signature(m_extra)),
            "out": Out(stream.Signature(word_layout)),
        })

    @staticmethod
    def packet_cycles(length: int, used: int, m_extra: int, bits: int, last_row_bits: int) -> int:
        """Cycles from the first shift error taken to the packet's last word, with full streams: a
        channel of ``length`` elements using ``used`` different symbols, ``bits`` payload bits
        (``B``), the last of its rows (``payload_lanes`` shift errors each) coded in ``last_row_bits``.

        A row (at most 32 bits) enters the bit packer per cycle and the packer gives a word per cycle
        once 32 bits are in, so it never holds two full words: when the last row goes in, what it
        holds, ``B - 32 * floor((B - last_row_bits) / 32)`` bits, leaves as one word or, above 32
        bits, as two.
        """
        if length < 1 or not 1 <= used <= min(length, 1 << m_extra):
            raise ValueError(f"no channel of {length} elements uses {used} symbols")
        if not length <= bits <= length * ((1 << m_extra) - 1) or not 1 <= last_row_bits <= bits:
            raise ValueError(f"no channel of {length} elements has {bits} payload bits, {last_row_bits} in its last row")
        lanes = payload_lanes(m_extra)
        build = TreeBuilder.build_cycles(used, m_extra)
        rows = -(-length // lanes)
        held = bits - 32 * ((bits - last_row_bits) // 32)
        # to the last shift error; START, the build, BUILD's last cycle, FIRST, CODES and the two
        # header words; then the rows, one per cycle, each through read, row, look-up and
        # log2(lanes) merges into the packer, whose last word comes a cycle after the last row, or
        # two when it holds more than a word then
        return (length - 1) + (1 + build + 1 + 2 + 2) + rows + (3 + lanes.bit_length() - 1) + (2 if held > 32 else 1)

    def elaborate(self, platform):
        m = Module()
        n, mx, lanes = self.symbols, self.m_extra, self.lanes
        lane_bits = lanes.bit_length() - 1  # log2(lanes)
        m.submodules.tree = tree = TreeBuilder(m_extra=mx, max_count=self.max_length)
        m.submodules.packer = packer = BitPacker(max_bits=self.max_code * lanes)
        # ``lanes`` shift errors per row, each written on its own (write enable per lane).
        m.submodules.buffer = buffer = memory.Memory(shape=mx * lanes, depth=-(-self.max_length // lanes), init=[])
        write = buffer.write_port(granularity=mx)
        read = buffer.read_port()

        length = Signal(range(self.max_length + 1))
        index = Signal(range(self.max_length + 1))
        counts = Array(Signal(range(self.max_length + 1), name=f"count{s}") for s in range(n))
        m.d.comb += [tree.counts[s].eq(counts[s]) for s in range(n)]

        lengths = [tree.lengths[s] for s in range(n)]
        counts_of, ranks = counts_and_ranks(m, lengths, self.max_code)
        counts_held = [Signal.like(c, name=f"per_length{k}") for k, c in enumerate(counts_of)]
        ranks_held = [Signal(self.max_code, name=f"rank{s}") for s in range(n)]
        first = first_codes(m, counts_held, self.max_code)
        first_held = [Signal(self.max_code, name=f"first{k}") for k in range(len(first))]
        new_codes = codes_from(m, lengths, first_held, ranks_held, self.max_code, "new_code")
        codes = Array(Signal(self.max_code, name=f"code{s}") for s in range(n))
        code_lengths = Array(Signal(4, name=f"code_length{s}") for s in range(n))
        total_bits = Signal(32)
        rows, last_row = Signal.like(index), Signal.like(index)  # rows of the channel in the buffer
        last_count = Signal(range(lanes + 1))  # shift errors in the channel's last row

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid & (self.cmd.payload != 0)):
                    m.d.sync += [length.eq(self.cmd.payload), index.eq(0)]
                    m.d.sync += [counts[s].eq(0) for s in range(n)]
                    m.next = "COLLECT"
            with m.State("COLLECT"):
                m.d.comb += [
                    self.data.ready.eq(1),
                    write.addr.eq(index >> lane_bits),
                    write.data.eq(Cat(*[self.data.payload] * lanes)),
                    write.en.eq(Mux(self.data.valid, Const(1, lanes) << index[:lane_bits], 0)),
                ]
                with m.If(self.data.valid):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == length - 1):
                        m.next = "START"
                for s in range(n):  # a counter per symbol, enabled by a compare: no indexed adder
                    with m.If(self.data.valid & (self.data.payload == s)):
                        m.d.sync += counts[s].eq(counts[s] + 1)
            with m.State("START"):
                m.d.comb += tree.start.eq(1)
                # The payload's rows, worked out while the code is built (registers for the payload).
                m.d.sync += [rows.eq((length + lanes - 1) >> lane_bits),
                             last_count.eq(length - (((length - 1) >> lane_bits) << lane_bits))]
                m.next = "BUILD"
            with m.State("BUILD"):
                m.d.sync += last_row.eq(rows - 1)
                with m.If(~tree.busy):
                    m.d.sync += [held.eq(value) for held, value in zip(counts_held + ranks_held, counts_of + ranks)]
                    m.next = "FIRST"
            with m.State("FIRST"):
                m.d.sync += [held.eq(value) for held, value in zip(first_held, first)]
                m.next = "CODES"
            with m.State("CODES"):
                for s in range(n):
                    m.d.sync += [codes[s].eq(new_codes[s]), code_lengths[s].eq(lengths[s])]
                m.d.sync += total_bits.eq(tree.bits)
                m.next = "CODEBOOK"
            with m.State("CODEBOOK"):
                m.d.comb += [
                    self.out.valid.eq(1),
                    self.out.payload.word.eq(codebook_word([code_lengths[s] for s in range(n)])),
                ]
                with m.If(self.out.ready):
                    m.next = "BITS"
            with m.State("BITS"):
                m.d.comb += [self.out.valid.eq(1), self.out.payload.word.eq(total_bits)]
                with m.If(self.out.ready):
                    m.d.sync += index.eq(0)
                    m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                # A pipeline that moves as a whole when the packer takes a chunk or has none: the row
                # read (its data registered in the memory) -> the row and its count of shift errors
                # registered -> each lane's code looked up (registered) -> log2(lanes) levels, each
                # concatenating pairs of neighbouring codes (registered) -> the packer.
                advance = Signal()
                read_valid, read_last = Signal(), Signal()
                row_valid, row_last, row = Signal(), Signal(), Signal(mx * lanes)
                always = [read.addr.eq(index), read.en.eq(advance)]
                # Level 0: the code of each lane, length 0 beyond the channel's end.
                level_valid, level_last = Signal(name="lookup_valid"), Signal(name="lookup_last")
                level = []
                for k in range(lanes):
                    symbol = row[k * mx:(k + 1) * mx]
                    present = ~row_last | (k < last_count)
                    code = Signal(self.max_code, name=f"lookup_code{k}")
                    size = Signal(range(self.max_code + 1), name=f"lookup_length{k}")
                    with m.If(advance):
                        # an absent lane is an empty code: no length and no bits (they would be ORed in)
                        m.d.sync += [code.eq(Mux(present, codes[symbol], 0)), size.eq(Mux(present, code_lengths[symbol], 0))]
                    level.append((code, size))
                with m.If(advance):
                    m.d.sync += [level_valid.eq(row_valid), level_last.eq(row_last)]
                stage_valid = [read_valid, row_valid, level_valid]
                for depth in range(1, lane_bits + 1):  # pairs of neighbours: the first code above
                    width = self.max_code << depth
                    merged = []
                    for k in range(len(level) // 2):
                        (high, high_size), (low, low_size) = level[2 * k], level[2 * k + 1]
                        code = Signal(width, name=f"merge{depth}_code{k}")
                        size = Signal(range(width + 1), name=f"merge{depth}_length{k}")
                        with m.If(advance):
                            m.d.sync += [code.eq((high << low_size) | low), size.eq(high_size + low_size)]
                        merged.append((code, size))
                    valid, last = Signal(name=f"merge{depth}_valid"), Signal(name=f"merge{depth}_last")
                    with m.If(advance):
                        m.d.sync += [valid.eq(level_valid), last.eq(level_last)]
                    level, level_valid, level_last = merged, valid, last
                    stage_valid.append(valid)
                (chunk, chunk_size), = level
                # In every state (the pipeline holds nothing outside this one), so that the packer's
                # input does not hang on the state.
                always += [
                    advance.eq(~level_valid | packer.codes.ready),
                    packer.codes.valid.eq(level_valid),
                    packer.codes.payload.code.eq(chunk),
                    packer.codes.payload.length.eq(chunk_size),
                    packer.codes.payload.last.eq(level_last),
                ]
                with m.If(advance):
                    m.d.sync += [
                        read_valid.eq(index != rows), read_last.eq(index == last_row),
                        row_valid.eq(read_valid), row_last.eq(read_last), row.eq(read.data),
                    ]
                    with m.If(index != rows):
                        m.d.sync += index.eq(index + 1)
                m.d.comb += [
                    self.out.valid.eq(packer.words.valid),
                    self.out.payload.eq(packer.words.payload),
                    packer.words.ready.eq(self.out.ready),
                ]
                with m.If(packer.words.valid & packer.words.ready & packer.words.payload.last):
                    m.d.sync += [valid.eq(0) for valid in stage_valid]
                    m.next = "IDLE"
        m.d.comb += always
        return m
