"""Huffman code lengths of a channel's shift-error histogram, built in hardware without a tree memory.

The groups are kept sorted by ``(weight, identifier)``, so the two smallest are always the first two:
a merge takes them, adds one to the length of every symbol in either (each symbol holds the
identifier of its group and its length), and inserts the merged group, with the smaller identifier,
at its place among the others. That is the construction and the tie rule of ``docs/edqa.md`` ("Code
lengths").
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer

__all__ = ["TreeBuilder"]


class TreeBuilder(wiring.Component):
    """Canonical Huffman code lengths of ``2^m`` symbol counts.

    Parameters: ``m_extra`` (m, 1..3: ``2^m`` symbols), ``max_count`` (the largest count).

    Ports:

    * ``counts``: in, ``ArrayLayout(range(max_count + 1), 2^m)``: sampled when ``start`` is 1.
    * ``start``: in, a one-cycle pulse while ``busy`` is 0: builds the lengths of ``counts``.
    * ``busy``: out, 1 from the cycle after ``start`` until the lengths are ready.
    * ``lengths``: out, ``ArrayLayout(4, 2^m)``: the code length of each symbol (0 for a count of
      0), valid while ``busy`` is 0 after a build, until the next ``start``.
    * ``bits``: out, ``sum(counts[s] * lengths[s])``, valid with ``lengths``: each merge makes every
      symbol of its two groups one bit longer, so it adds the merged group's weight; no multiplier.

    Latency: ``busy`` lasts ``2^m + 1`` cycles (an odd-even transposition sort of the counts, one pass
    per cycle, then a check) plus 3 cycles per merge (take the two smallest groups, find where the
    merged one goes, move the list), i.e. ``2^m + 3 u - 2`` for ``u >= 2`` occurring symbols (at
    most 30 for m = 3), ``2^m + 1`` for fewer: :meth:`build_cycles`.
    """

    @staticmethod
    def build_cycles(used: int, m_extra: int) -> int:
        """Cycles ``busy`` lasts for ``used`` occurring symbols of ``2^m_extra``."""
        return (1 << m_extra) + 1 + 3 * max(used - 1, 0)

    def __init__(self, *, m_extra: int = 3, max_count: int = 4096):
        integer("m_extra", m_extra, min=1, max=3)
        integer("max_count", max_count, min=1)
        self.m_extra, self.max_count = m_extra, max_count
        self.symbols = 1 << m_extra
        super().__init__({
            "counts": In(data.ArrayLayout(range(max_count + 1), self.symbols)),
            "start": In(1),
            "busy": Out(1),
            "lengths": Out(data.ArrayLayout(4, self.symbols)),
            "bits": Out(range(max_count * self.symbols * (self.symbols - 1) + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        n, idw = self.symbols, self.m_extra
        weight_shape = range(self.max_count * n + 1)
        # The sorted list of groups: entry i holds (ok, weight, identifier); the unused ones are last.
        ok = [Signal(name=f"ok{i}") for i in range(n)]
        weight = [Signal(weight_shape, name=f"weight{i}") for i in range(n)]
        ident = [Signal(idw, name=f"ident{i}") for i in range(n)]
        group = [Signal(idw, name=f"group{s}") for s in range(n)]
        length = [Signal(4, name=f"length{s}") for s in range(n)]
        left = Signal(range(n + 1))  # groups in the list
        passes = Signal(range(n + 1))  # sort passes done
        merged_weight, merged_ident = Signal(weight_shape), Signal(idw)
        # ahead_of[j]: entry j sorts before the merged group (j >= 2; registered in state ORDER)
        ahead_of = [None, None] + [Signal(name=f"ahead_of{j}") for j in range(2, n)]
        m.d.comb += [self.lengths[s].eq(length[s]) for s in range(n)]

        def key(i_ok, i_weight, i_ident):
            """The sort key as one number (one carry-chain compare): unused entries last, then by
            weight, ties by identifier."""
            return Cat(i_ident, i_weight, ~i_ok)

        def before(i, j_weight, j_ident, j_ok):
            """Entry ``i`` sorts before the given one: ok, and a smaller (weight, identifier)."""
            return ok[i] & (key(ok[i], weight[i], ident[i]) < key(j_ok, j_weight, j_ident))

        used = [self.counts[s] != 0 for s in range(n)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [left.eq(sum(used)), passes.eq(0), self.bits.eq(0)]
                    for s in range(n):
                        m.d.sync += [ok[s].eq(used[s]), weight[s].eq(self.counts[s]), ident[s].eq(s),
                                     group[s].eq(s), length[s].eq(0)]
                    m.next = "SORT"
            with m.State("SORT"):  # odd-even transposition: n passes sort n entries
                m.d.comb += self.busy.eq(1)
                for parity in (0, 1):
                    with m.If(passes[0] == parity):
                        for i in range(parity, n - 1, 2):
                            swap = before(i + 1, weight[i], ident[i], ok[i])
                            with m.If(swap):
                                m.d.sync += [ok[i].eq(ok[i + 1]), weight[i].eq(weight[i + 1]), ident[i].eq(ident[i + 1]),
                                             ok[i + 1].eq(ok[i]), weight[i + 1].eq(weight[i]), ident[i + 1].eq(ident[i])]
                m.d.sync += passes.eq(passes + 1)
                with m.If(passes == n - 1):
                    m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += self.busy.eq(1)
                with m.If(left <= 1):  # one symbol: length 1, its count of bits (none: all 0)
                    for s in range(n):
                        m.d.sync += length[s].eq(ok[0] & (ident[0] == s))
                    m.d.sync += self.bits.eq(Mux(ok[0], weight[0], 0))
                    m.next = "IDLE"
                with m.Else():
                    m.next = "TAKE"
            with m.State("TAKE"):  # the first two entries merge; their symbols grow one bit
                m.d.comb += self.busy.eq(1)
                smaller = Mux(ident[0] < ident[1], ident[0], ident[1])
                m.d.sync += [merged_weight.eq(weight[0] + weight[1]), merged_ident.eq(smaller), left.eq(left - 1)]
                for s in range(n):
                    with m.If((group[s] == ident[0]) | (group[s] == ident[1])):
                        m.d.sync += [length[s].eq(length[s] + 1), group[s].eq(smaller)]
                m.next = "ORDER"
            with m.State("ORDER"):  # where the merged group goes: which entries sort before it
                m.d.comb += self.busy.eq(1)
                m.d.sync += [ahead_of[j].eq(before(j, merged_weight, merged_ident, Const(1, 1))) for j in range(2, n)]
                m.next = "INSERT"
            with m.State("INSERT"):  # drop the first two entries, insert the merged group in order
                m.d.comb += self.busy.eq(1)
                m.d.sync += self.bits.eq(self.bits + merged_weight)
                ahead = [Const(1, 1)] * 2 + ahead_of[2:] + [Const(0, 1)]
                for i in range(n):
                    # Entry i takes the entry two further on while that sorts before the merged group,
                    # then the merged group, then the entry one further on (the list moves up by one).
                    keep_merged = ahead[i + 1]
                    if i + 2 < n:
                        with m.If(ahead[i + 2]):
                            m.d.sync += [ok[i].eq(ok[i + 2]), weight[i].eq(weight[i + 2]), ident[i].eq(ident[i + 2])]
                        with m.Elif(keep_merged):
                            m.d.sync += [ok[i].eq(1), weight[i].eq(merged_weight), ident[i].eq(merged_ident)]
                        with m.Else():
                            m.d.sync += [ok[i].eq(ok[i + 1]), weight[i].eq(weight[i + 1]), ident[i].eq(ident[i + 1])]
                    else:
                        with m.If(keep_merged):
                            m.d.sync += [ok[i].eq(1), weight[i].eq(merged_weight), ident[i].eq(merged_ident)]
                        with m.Else():
                            if i + 1 < n:
                                m.d.sync += [ok[i].eq(ok[i + 1]), weight[i].eq(weight[i + 1]), ident[i].eq(ident[i + 1])]
                            else:
                                m.d.sync += ok[i].eq(0)
                with m.If(left == 1):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "TAKE"
        return m
