"""eDQA Huffman decoder: a channel's packet in, its shift errors out, one per cycle."""

import operator
from functools import reduce

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from ..skid import SkidBuffer
from .bit_packer import WORD, word_layout
from .canonical import codes_from, counts_and_ranks, first_codes

__all__ = ["HuffmanDecoder", "DECODE_STATUS_LAYOUT", "symbol_layout"]


def any_of(values):
    """The OR of ``values``: the pick of a one-hot selection (``sum`` would build adders)."""
    return reduce(operator.or_, values)

#: Sticky failure flags of the decoder (at most one per packet, in this order of precedence).
DECODE_STATUS_LAYOUT = data.StructLayout({"bad_codebook": 1, "truncated": 1, "overlong": 1, "corrupt": 1})


def symbol_layout(m_extra: int) -> data.StructLayout:
    """One decoded shift error and ``last`` of its channel."""
    return data.StructLayout({"se": m_extra, "last": 1})


class HuffmanDecoder(wiring.Component):
    """Reads each channel's packet (``docs/edqa.md`` "Packet") back into its shift errors.

    Parameters: ``m_extra`` (m, 1..3), ``max_length`` (longest channel).

    Ports:

    * ``cmd``: in, stream of ``range(max_length + 1)``: the length ``L`` of the next channel, taken
      when the previous packet has ended; 0 is an empty channel (no packet is read).
    * ``data``: in, stream of :data:`~hdl.edqa.bit_packer.word_layout`: the packet, ``last`` on its
      final word.
    * ``out``: out, stream of :func:`symbol_layout`: always exactly ``L`` shift errors, ``last`` on the
      final one; after a failure the rest are 0.
    * ``status``: out, :data:`DECODE_STATUS_LAYOUT`, sticky until ``clear``. At the end of each
      packet at most one flag is raised: ``bad_codebook``, else ``truncated`` (fewer words than ``B``
      needs), else ``overlong`` (more words), else ``corrupt`` (a bit sequence that is no code,
      ``L`` codes that do not take exactly ``B`` bits, or a non-zero unused bit): the order of the
      golden model's checks.
    * ``clear``: in, clears ``status``.

    Throughput: one shift error per cycle. The decoding loop needs only the length of the code at the
    read position: the 7-bit window there is compared with one limit per code length (the canonical
    code's bound), and the length picks, from bits registered a cycle earlier, the next window and
    the next position (no barrel shifter in the loop). The symbol follows from a compare of the
    window with every code, off the loop. The payload's words sit in a two-word buffer, the next word
    prefetched; a code that passes into the next word moves the words up a cycle later. A code is
    read only while the word after the buffer is at hand.

    Latency: :meth:`channel_cycles` from the first packet word to the last shift error with full
    streams (``L + 7``). Shift errors leave through a register slice, so ``out.ready`` reaches no
    decoding logic. After the last shift error the decoder checks the payload's length and unused
    bits (three cycles) and reads the packet up to its ``last`` word before it takes the next
    command. A failure never stops the decoder: it gives the remaining shift errors as 0 and reads
    the packet up to its ``last`` word.
    """

    def __init__(self, *, m_extra: int = 3, max_length: int = 4096):
        integer("m_extra", m_extra, min=1, max=3)
        integer("max_length", max_length, min=1, max=65535)
        self.m_extra, self.max_length = m_extra, max_length
        self.symbols = 1 << m_extra
        self.max_code = self.symbols - 1
        super().__init__({
            "cmd": In(stream.Signature(range(max_length + 1))),
            "data": In(stream.Signature(word_layout)),
            "out": Out(stream.Signature(symbol_layout(m_extra))),
            "status": Out(DECODE_STATUS_LAYOUT),
            "clear": In(1),
        })

    @staticmethod
    def channel_cycles(length: int) -> int:
        """Cycles from the packet's first word taken to the channel's last shift error out, with full
        streams: the codebook and ``B`` words, three cycles of code tables (FIRST, CODES, TABLES),
        the first two payload words, then a shift error per cycle through the output register."""
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        return 1 + 3 + 2 + 1 + length

    def elaborate(self, platform):
        m = Module()
        n, top = self.symbols, self.max_code
        # Decoded shift errors leave through a register slice: its ``ready`` is a register, so the
        # consumer's ``ready`` never reaches the decoding loop.
        m.submodules.out_buffer = out_buffer = SkidBuffer(symbol_layout(self.m_extra))
        wiring.connect(m, out_buffer.o, wiring.flipped(self.out))
        sym = out_buffer.i
        length = Signal(range(self.max_length + 1))
        produced = Signal(range(self.max_length + 1))
        lengths = [Signal(4, name=f"length{s}") for s in range(n)]
        bad = Signal()  # a codebook nibble failed its checks
        short = Signal()  # the packet ended on its codebook word
        corrupt = Signal()
        bits = Signal(32)  # B
        needed = Signal(28)  # payload words B needs
        words = Signal(32)  # payload words taken so far
        ended = Signal()  # the packet's last word has been taken

        # Codebook checks: every nibble a valid length, at least one symbol, sum(2^-length) <= 1.
        # The nibble checks on the word as it comes; the sum over the registered lengths a cycle later.
        book = self.data.payload.word
        nibbles = [book[4 * s: 4 * s + 4] for s in range(8)]
        nibbles_bad = (Cat(*(nibble > top for nibble in nibbles[:n])).any()
                       | Cat(*(nibble != 0 for nibble in nibbles[n:])).any()
                       | Cat(*(nibble == 0 for nibble in nibbles[:n])).all())
        # 2^top * sum(2^-length) in two registered steps, in every state: the terms follow the
        # lengths a cycle later, the sum two cycles later (``book_age`` says when it is ready).
        terms = [Signal(top + 1, name=f"kraft_term{s}") for s in range(n)]
        m.d.sync += [terms[s].eq(Mux(lengths[s] != 0, Const(1 << top, top + 1) >> lengths[s], 0)) for s in range(n)]
        kraft = Signal(top + 4)
        m.d.sync += kraft.eq(sum(terms))
        book_age = Signal(range(4))  # cycles since the codebook came, up to 3
        with m.If(book_age != 3):
            m.d.sync += book_age.eq(book_age + 1)
        book_bad = bad | (kraft > (1 << top))

        # Per packet, registered: each symbol's code left-aligned in ``top`` bits and its mask, so that
        # matching a code is one masked compare per symbol.
        counts_of, ranks = counts_and_ranks(m, lengths, top)
        counts_held = [Signal.like(c, name=f"per_length{k}") for k, c in enumerate(counts_of)]
        ranks_held = [Signal(top, name=f"rank{s}") for s in range(n)]
        first = first_codes(m, counts_held, top)
        first_held = [Signal(top, name=f"first{k}") for k in range(len(first))]
        codes = codes_from(m, lengths, first_held, ranks_held, top)
        codes_held = [Signal(top, name=f"code{s}") for s in range(n)]
        aligned = [Signal(top, name=f"aligned{s}") for s in range(n)]
        mask = [Signal(top, name=f"mask{s}") for s in range(n)]
        # Per packet, registered: the canonical code's limit per length k, left-aligned in ``top``
        # bits: every window below ``limit[k]`` starts with a code of length k or less (the codes of
        # length k are ``first[k] .. first[k] + count[k] - 1``, and shorter codes lie below them), so
        # ``limit[k] = sum(count[j] << (top - j) for j <= k)``.
        limit = [None] + [Signal(top + 1, name=f"limit{k}") for k in range(1, top + 1)]
        limit_low = [None] + [Signal(top + 1, name=f"limit_low{k}") for k in range(1, top + 1)]
        limit_high = [None] + [Signal(top + 1, name=f"limit_high{k}") for k in range(1, top + 1)]

        # The payload: two words ``buffer = {current, next}`` that stay in place while ``pos`` moves
        # through the current one; when it passes 32, the words move up by one (a fixed shift) and a
        # prefetched ``pending`` word comes in. After the packet's payload the words are 0. ``window``
        # holds the 7 bits at ``pos`` in a register of its own.
        buffer = Signal(2 * WORD)
        pending, pending_valid = Signal(WORD), Signal()
        pos = Signal(range(WORD))
        window = Signal(top)
        crossings = Signal(28)  # words read past
        more = Signal()  # payload words still to come (a register: no wide compare on the way)
        left_words = Signal.like(needed)

        # The symbol: the window against every code at once; at most one matches (prefix-free codes).
        # Off the decoding loop, which needs the code's length only (below).
        match = Signal(n)
        used = Signal(n)  # lengths[s] != 0, registered with the codebook
        for s in range(n):
            m.d.comb += match[s].eq(used[s] & ((window & mask[s]) == aligned[s]))
        symbol = Signal(self.m_extra)
        for s in range(n):
            with m.If(match[s]):
                m.d.comb += symbol.eq(s)

        # The bits ahead, without a barrel shifter in the loop: ``extract`` is registered each cycle as
        # the 4 * top bits at ``pos`` and ``last_step`` as how far that cycle moved, so a cycle later
        # the 3 * top bits at the new ``pos`` are a pick of ``extract`` by a register, ready early.
        extract = Signal(4 * top)
        last_step = Signal(top + 1)  # one-hot: how many bits the previous cycle took
        ahead_wide = Signal(3 * top)
        m.d.comb += ahead_wide.eq(any_of(Mux(last_step[k], extract[top - k: 4 * top - k], 0) for k in range(top + 1)))
        ahead = ahead_wide[top:]  # the 2 * top bits at ``pos``

        # Codes are read while the word after the buffer is at hand (prefetched, coming in this cycle,
        # or not to come: then it is 0), so that a code may always pass into the next word.
        at_hand = Signal()
        m.d.comb += at_hand.eq(pending_valid | ~more | self.data.valid)
        # The decoding loop: the length of the code at ``pos`` from the window's compares with the
        # limits (a thermometer: ``fits[k]`` for every k at or above the length), one-hot in ``hit``.
        # For every length, from registers in parallel with the compares: where ``pos`` goes, whether
        # it passes into the next word, and the next window (the bits of ``ahead``, fixed wiring).
        fits = Signal(top + 1)  # fits[0] = 0
        for k in range(1, top + 1):
            m.d.comb += fits[k].eq(window < limit[k])
        hit = Signal(top + 1)  # hit[k]: the code is k bits long; hit[0]: no code fits
        m.d.comb += hit.eq(fits & ~(fits << 1))
        moved = [Signal(range(2 * WORD), name=f"moved{k}") for k in range(top + 1)]
        crosses = Signal(top + 1)
        after = [Signal(top, name=f"after{k}") for k in range(top + 1)]
        for k in range(1, top + 1):
            m.d.comb += [
                moved[k].eq(pos + k),
                crosses[k].eq(pos >= WORD - k),  # pos + k >= 32
                after[k].eq(ahead[top - k: 2 * top - k]),
            ]
        # The decoding loop moves whenever the output has room and the next word is at hand: the
        # enable hangs on registers and the word's ``valid`` only, never on the match. A window that
        # matches no code is a failure (``stuck``, acted on a cycle later): what the loop then loads
        # does not matter.
        advance = Signal()
        # No code fits: the window is 7 valid bits (or zeros past the payload), so nothing will
        # ever fit; the flag is registered (in the payload state) and acted on a cycle later.
        stuck = Signal()
        finished = Signal()  # the channel's last shift error has gone out: on to the checks
        m.d.comb += advance.eq(sym.ready & at_hand & ~stuck & ~finished)
        cross = Signal()
        m.d.comb += cross.eq(advance & (hit & crosses).any())
        # A code that passes into the next word wraps ``pos`` at once, but the words move up a cycle
        # later (``crossed``, a register): the move then hangs on no late signal, and ``effective`` is
        # the buffer as it is after the move. The next code cannot cross again in that cycle (it
        # starts at most 6 bits into the new word). The word that moves in is the prefetched one, or
        # 0 past the payload.
        crossed = Signal()
        following = Mux(pending_valid, pending, 0)
        effective = Signal(2 * WORD)
        m.d.comb += effective.eq(Mux(crossed, Cat(following, buffer[:WORD]), buffer))
        m.d.sync += crossed.eq(0)
        with m.If(crossed):
            m.d.sync += [buffer.eq(effective), pending_valid.eq(0), crossings.eq(crossings + 1)]
        emit = sym.valid & sym.ready

        # The final checks of a decoded payload, registered on their way (states MEASURE, VERDICT).
        check_bits, check_rest, check_pending = Signal(), Signal(2 * WORD), Signal()

        # ``last`` is a register: the next shift error is the channel's last one.
        is_last = Signal()
        m.d.comb += sym.payload.last.eq(is_last)
        with m.If(self.clear):
            m.d.sync += self.status.eq(0)

        def take_word(then):
            """Take a payload word (or 0 once the payload has ended) and go on to ``then``."""
            m.d.comb += self.data.ready.eq(more)
            word = Mux(more, self.data.payload.word, 0)
            with m.If(~more | self.data.valid):
                with m.If(more):
                    m.d.sync += [words.eq(words + 1), ended.eq(self.data.payload.last), left_words.eq(left_words - 1),
                                 more.eq(~self.data.payload.last & (left_words != 1))]
                m.next = then
            return word

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid & (self.cmd.payload != 0)):
                    m.d.sync += [length.eq(self.cmd.payload), produced.eq(0), is_last.eq(self.cmd.payload == 1),
                                 corrupt.eq(0), ended.eq(0), short.eq(0),
                                 words.eq(0), needed.eq(0), more.eq(0), pending_valid.eq(0), pos.eq(0),
                                 crossings.eq(0), stuck.eq(0), crossed.eq(0), finished.eq(0)]
                    m.next = "CODEBOOK"
            with m.State("CODEBOOK"):
                m.d.comb += self.data.ready.eq(1)
                with m.If(self.data.valid):
                    m.d.sync += [bad.eq(nibbles_bad), ended.eq(self.data.payload.last), book_age.eq(0)]
                    m.d.sync += [lengths[s].eq(nibbles[s]) for s in range(n)]
                    m.d.sync += [used[s].eq(nibbles[s] != 0) for s in range(n)]
                    m.next = "BITS"
                    with m.If(self.data.payload.last):
                        m.d.sync += short.eq(1)
                        m.next = "FILL"
            with m.State("BITS"):
                m.d.comb += self.data.ready.eq(1)
                m.d.sync += [held.eq(value) for held, value in zip(counts_held + ranks_held, counts_of + ranks)]
                with m.If(self.data.valid):
                    b = self.data.payload.word
                    m.d.sync += [bits.eq(b), needed.eq((b + WORD - 1) >> 5), ended.eq(self.data.payload.last)]
                    with m.If(self.data.payload.last):
                        m.d.sync += corrupt.eq(1)  # no payload: L codes cannot fit in it (or B words are missing)
                        m.next = "FILL"
                    with m.Else():
                        m.next = "FIRST"
            with m.State("FIRST"):
                m.d.sync += [held.eq(value) for held, value in zip(first_held, first)]
                m.d.sync += [more.eq(needed != 0), left_words.eq(needed)]  # known before the payload starts
                m.next = "CODES"
            with m.State("CODES"):
                m.d.sync += [held.eq(code) for held, code in zip(codes_held, codes)]
                half = (top + 1) // 2  # each limit's sum in two halves, a cycle each
                for k in range(1, top + 1):
                    m.d.sync += [
                        limit_low[k].eq(sum(counts_held[j] << (top - j) for j in range(1, min(k, half) + 1))),
                        limit_high[k].eq(sum((counts_held[j] << (top - j) for j in range(half + 1, k + 1)), Const(0, 1))),
                    ]
                m.next = "TABLES"
            with m.State("TABLES"):  # each code, left-aligned, with its mask; the codebook's last check
                with m.If(book_bad):  # a bad nibble, or codes that cannot all be distinct
                    m.next = "FILL"
                with m.Else():
                    m.next = "CURRENT"
                for s in range(n):
                    m.d.sync += [
                        aligned[s].eq((Cat(Const(0, top), codes_held[s]) >> lengths[s])[:top]),
                        mask[s].eq((~(Const((1 << top) - 1, top) >> lengths[s]))[:top]),
                    ]
                for k in range(1, top + 1):  # = (first[k] + count[k]) << (top - k), without first's overflow
                    m.d.sync += limit[k].eq(limit_low[k] + limit_high[k])
            with m.State("CURRENT"):  # the payload's first word (or 0 when there is none)
                word = take_word("NEXT")
                m.d.sync += buffer.eq(Cat(Const(0, WORD), word))
            with m.State("NEXT"):  # its second word, and the first window
                word = take_word("PAYLOAD")
                both = Cat(word, buffer[WORD:])
                m.d.sync += [buffer.eq(both), window.eq(buffer[2 * WORD - top:]),
                             extract.eq(both[2 * WORD - 4 * top:]), last_step.eq(1)]
            with m.State("PAYLOAD"):
                m.d.sync += stuck.eq(~fits[top])
                m.d.comb += [sym.valid.eq(fits[top] & at_hand & ~stuck & ~finished), sym.payload.se.eq(symbol)]
                # Prefetch: the word after the two in the buffer (0 once the payload has ended); it
                # goes straight into the buffer when a code passes into the next word this cycle.
                m.d.comb += self.data.ready.eq(more & ~pending_valid)
                incoming = self.data.valid & self.data.ready
                with m.If(incoming):
                    m.d.sync += [words.eq(words + 1), ended.eq(self.data.payload.last), left_words.eq(left_words - 1),
                                 more.eq(~self.data.payload.last & (left_words != 1))]
                    m.d.sync += [pending.eq(self.data.payload.word), pending_valid.eq(1)]
                # The window and ``pos`` hold while the loop waits (the bits at ``pos`` do not change
                # then); the match picks their next values.
                with m.If(advance):
                    m.d.sync += [
                        window.eq(any_of(Mux(hit[k], after[k], 0) for k in range(1, top + 1))),
                        pos.eq(any_of(Mux(hit[k], moved[k][:5], 0) for k in range(1, top + 1))),
                    ]
                m.d.sync += [
                    extract.eq((effective << pos)[2 * WORD - 4 * top: 2 * WORD]),
                    last_step.eq(Mux(advance, hit, 1)),
                ]
                with m.If(cross):
                    m.d.sync += crossed.eq(1)
                with m.If(emit):
                    m.d.sync += [produced.eq(produced + 1), is_last.eq(produced + 2 == length), finished.eq(is_last)]
                with m.If(stuck):  # registered: no code matched last cycle, so none is read now either
                    m.d.sync += corrupt.eq(1)
                    m.next = "FILL"
                with m.Elif(finished):  # registered: the last shift error went out last cycle
                    m.next = "CHECK"
            with m.State("CHECK"):  # all L codes read; a last move of the words lands in this cycle
                m.next = "MEASURE"
            with m.State("MEASURE"):  # B bits exactly, and the unused bits 0: the parts, registered
                m.d.sync += [
                    check_bits.eq(((crossings << 5) + pos) != bits),
                    check_rest.eq((buffer << pos)[:2 * WORD]),
                    check_pending.eq(pending_valid & (pending != 0)),
                ]
                m.next = "VERDICT"
            with m.State("VERDICT"):
                with m.If(check_bits | (check_rest != 0) | check_pending):
                    m.d.sync += corrupt.eq(1)
                m.next = "DRAIN"
            with m.State("FILL"):  # after a failure: the remaining shift errors are 0
                m.d.comb += [sym.valid.eq(1), sym.payload.se.eq(0)]
                with m.If(emit):
                    m.d.sync += [produced.eq(produced + 1), is_last.eq(produced + 2 == length)]
                    with m.If(is_last):
                        m.next = "DRAIN"
            with m.State("DRAIN"):  # read the packet up to its last word, then report
                m.d.comb += self.data.ready.eq(~ended)
                with m.If(self.data.valid & ~ended):
                    m.d.sync += [words.eq(words + 1), ended.eq(self.data.payload.last)]
                with m.If(ended & (book_age >= 2)):  # the codebook's sum is in
                    with m.If(~self.clear):
                        with m.If(book_bad):
                            m.d.sync += self.status.bad_codebook.eq(1)
                        with m.Elif(short | (words < needed)):
                            m.d.sync += self.status.truncated.eq(1)
                        with m.Elif(words > needed):
                            m.d.sync += self.status.overlong.eq(1)
                        with m.Elif(corrupt):
                            m.d.sync += self.status.corrupt.eq(1)
                    m.next = "IDLE"
        return m
