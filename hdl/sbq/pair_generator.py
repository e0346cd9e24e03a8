"""SBQ pair generator in the style of the paper: the first ranks without a selector, one selector.

The SBQ paper (section III-C) splits a multiplication's term pairs in advance into the pairs that
are certainly computed and the rest, and runs its one intersection-based generator only on the rest,
so that generation overlaps computation without a second (ping-pong) generator. This generator does
the same for budgets ``B <= 4`` (the paper's 4-bit quantization: "a maximum of four cycles").

Leading-one terms have strictly decreasing offsets, so the product table (row ``i``: activation
term, column ``j``: weight term) decreases along every row and column: rank 0 is always ``(0, 0)``
and the next rank is always the best head of the rows not used up (a *frontier*). Ranks 0..3 take
at most three such steps from the empty frontier, so they are a small decision tree, unrolled at
elaboration: each node is a frontier known in advance (pairs taken per row), its candidates are fixed
pairs (no pointer multiplexers), one comparison scan picks the best (ties: the smaller row, as in
``docs/sbq.md``), and its children are the frontiers after each possible winner (10 nodes, 9
comparisons for int8 x int8). The paper's own example, that ``a0 b0``, ``a0 b1`` and ``a1 b0`` are
always computed, does not hold exactly (``(0, 2)`` can outrank ``(1, 0)``), so the tree decides them.

One frontier selector (the *walker*, a pointer per row) starts from the tree's frontier after rank 3
and gives ranks 4, 5, ... one per cycle: the compensation pairs for the term queue. In cycle ``t`` of
a window the generator gives rank ``t`` (``sig``) and, for ``t < C``, rank ``B + t`` (``queued``);
the walker steps in cycles ``4 - B <= t < C`` and exists only when ``B + C > 4``. A multiplication
is registered once (one operand stage, no splitter running a window ahead).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring

from ..params import integer
from .term_encoder import term_slots
from .term_generator import ACT_BITS, PairLayout, generator_signature, terms_layout

__all__ = ["PairGenerator", "FIXED_RANKS", "MAX_PAIR_BUDGET"]

#: Ranks 0..3 come from fixed pairs.
FIXED_RANKS = 4
#: Largest budget: ranks ``0..B-1`` must all be fixed ones.
MAX_PAIR_BUDGET = 4


class PairGenerator(wiring.Component):
    """Ranked term pairs of SBQ multiplications, rank ``t`` and rank ``B + t`` in window cycle ``t``.

    Parameters (keyword-only): ``budget`` (``B``, 1..4), ``comp`` (``C``, 0..``B``), ``wbits`` (4 or 8;
    activations are int8).

    Ports (``sync`` domain):

    * ``a``, ``w``: in, the encoded terms (:func:`~hdl.sbq.term_generator.terms_layout`) of the next
      multiplication, taken at the end of a window when ``load`` is 1 (else an empty one is taken).
    * ``load``: in, 1 when ``a``/``w`` hold a multiplication.
    * ``cycle``: in, ``range(B)``, the cycle of the window; the window ends when ``cycle == B - 1``.
    * ``en``: in, clock enable: when 0 nothing changes.
    * ``sig_valid``/``sig``: out, the pair of rank ``cycle`` (:data:`PairLayout`) of the current
      multiplication, when it has that many pairs.
    * ``queued_valid``/``queued``: out, the pair of rank ``B + cycle`` when ``cycle < C`` and it exists.

    Latency: a multiplication loaded at the end of window ``k`` gives its pairs in window ``k + 1``
    (one window earlier than :class:`~hdl.sbq.term_generator.TermGenerator`'s stage C). Throughput:
    one multiplication per ``B`` cycles; no back-pressure (``en`` stalls it).
    """

    def __init__(self, *, budget: int = 4, comp: int = 4, wbits: int = 4):
        integer("budget", budget, min=1, max=MAX_PAIR_BUDGET)
        integer("comp", comp, min=0)
        if comp > budget:
            raise ValueError(f"comp must be <= budget ({budget}): a lane offers at most one pair to its queue "
                             f"per cycle, got {comp}")
        integer("wbits", wbits, choices=(4, 8))
        self.budget, self.comp, self.wbits = budget, comp, wbits
        self.rows, self.cols = term_slots(ACT_BITS), term_slots(wbits)
        super().__init__(generator_signature(self.rows, self.cols, budget))

    @property
    def walks(self) -> bool:
        """Whether a rank above 3 is ever asked for (``B + C > 4``), i.e. the walker is built."""
        return self.budget + self.comp > FIXED_RANKS

    def elaborate(self, platform):
        m = Module()
        rows, cols, budget, comp = self.rows, self.cols, self.budget, self.comp
        a = Signal(terms_layout(rows), name="a_terms")
        w = Signal(terms_layout(cols), name="w_terms")

        # Ranks 0..3 by a decision tree unrolled at elaboration: a node is a frontier (how many pairs
        # of each row are taken, as Python ints), its candidates are the row heads not dominated by
        # the row above, and one strict ">" scan picks the best (ties: the smaller row). Each node's
        # pairs are fixed, so no operand is selected by a pointer here.
        nodes = {}

        def node(state: tuple):
            """``(ranks, start)`` below ``state``: ``(valid, bits)`` of each rank from ``sum(state)``
            to 3, and the walker's start pointers after rank 3."""
            if state in nodes:
                return nodes[state]
            if sum(state) == FIXED_RANKS:
                result = ([], [Const(min(p, cols), ptr_width) for p in state])
                nodes[state] = result
                return result
            cands = [i for i in range(rows) if state[i] < cols and (i == 0 or state[i - 1] > state[i])]
            tag = "".join(map(str, state))
            best_ok, best_off, best_bits, win = Const(0, 1), Const(0, 4), Const(0, PairLayout.size), Const(0, 2)
            for n, i in enumerate(cands):
                j = state[i]
                ok, off = a.valid[i] & w.valid[j], a.off[i] + w.off[j]
                bits = Cat(a.mag[i], a.neg[i], w.mag[j], w.neg[j], off[:4])
                take = ok & (~best_ok | (off > best_off))
                best_ok, best_off = best_ok | ok, Mux(take, off, best_off)
                best_bits, win = Mux(take, bits, best_bits), Mux(take, n, win)
            found, pair, winner = Signal(name=f"n{tag}_ok"), Signal(PairLayout.size, name=f"n{tag}_pair"), \
                Signal(2, name=f"n{tag}_win")
            m.d.comb += [found.eq(best_ok), pair.eq(best_bits), winner.eq(win)]
            children = [node(tuple(p + (k == i) for k, p in enumerate(state))) for i in cands]

            def pick(values):
                out = values[0]
                for n in range(1, len(values)):
                    out = Mux(winner == n, values[n], out)
                return out

            deeper = [(pick([c[0][d][0] for c in children]), pick([c[0][d][1] for c in children]))
                      for d in range(len(children[0][0]))]
            start = [pick([c[1][i] for c in children]) for i in range(rows)]
            result = ([(found, pair)] + deeper, start)
            nodes[state] = result
            return result

        ptr_width = range(cols + 1)
        fixed, start = node((0,) * rows)

        # The walker: pointers past the first four ranks, one selector step per cycle from 4 - B.
        walk_valid, walk_pair = Const(0, 1), Const(0, PairLayout.size)
        ptr = [Signal(ptr_width, name=f"ptr{i}") for i in range(rows)]
        first_step = FIXED_RANKS - budget
        stepping = Signal()
        if self.walks:
            current = []
            for i in range(rows):
                cur = Signal(ptr_width, name=f"walk_ptr{i}")
                m.d.comb += cur.eq(Mux(self.cycle == first_step, start[i], ptr[i]))
                current.append(cur)
            walk_valid, walk_pair, walk_next = self._step(m, a, w, current)
            m.d.comb += stepping.eq((self.cycle >= first_step) & (self.cycle < comp))

        def by_cycle(choices):
            """``choices[t]`` in cycle ``t`` (a list of ``(valid, bits)``)."""
            ok, bits = Const(0, 1), Const(0, PairLayout.size)
            for t, (c_ok, c_bits) in enumerate(choices):
                ok, bits = Mux(self.cycle == t, c_ok, ok), Mux(self.cycle == t, c_bits, bits)
            return ok, bits

        sig_ok, sig_bits = by_cycle(fixed[:budget])
        queued = [fixed[budget + t] if budget + t < FIXED_RANKS else (walk_valid, walk_pair) for t in range(comp)]
        q_ok, q_bits = by_cycle(queued)
        m.d.comb += [
            self.sig_valid.eq(sig_ok), self.sig.eq(sig_bits),
            self.queued_valid.eq(q_ok), self.queued.eq(q_bits),
        ]

        with m.If(self.en):
            with m.If(self.cycle == budget - 1):
                with m.If(self.load):
                    m.d.sync += [a.eq(self.a), w.eq(self.w)]
                with m.Else():
                    m.d.sync += [a.eq(0), w.eq(0)]
            if self.walks:
                with m.Elif(stepping):
                    m.d.sync += [p.eq(n) for p, n in zip(ptr, walk_next)]
        return m

    def _step(self, m: Module, a, w, ptr: list):
        """One frontier step over the row heads ``(i, ptr[i])``: ``(found, pair bits, next pointers)``."""
        rows = len(ptr)
        w_valid = Cat(w.valid, Const(0, 1))  # one empty column for a pointer past the row's end
        w_off = Cat(Value.cast(w.off), Const(0, 3))
        w_mag = Cat(Value.cast(w.mag), Const(0, 2))
        w_neg = Cat(w.neg, Const(0, 1))
        best_ok, best_off, best_bits, win = Const(0, 1), Const(0, 4), Const(0, PairLayout.size), Const(0, 2)
        for i in range(rows):
            ok, off = Signal(name=f"walk_ok{i}"), Signal(4, name=f"walk_off{i}")
            cand = Signal(PairLayout, name=f"walk_cand{i}")
            m.d.comb += [
                ok.eq(a.valid[i] & w_valid.bit_select(ptr[i], 1)),
                off.eq(a.off[i] + w_off.word_select(ptr[i], 3)),
                cand.mag_a.eq(a.mag[i]), cand.neg_a.eq(a.neg[i]),
                cand.mag_w.eq(w_mag.word_select(ptr[i], 2)), cand.neg_w.eq(w_neg.bit_select(ptr[i], 1)),
                cand.off.eq(off),
            ]
            take = ok & (~best_ok | (off > best_off))  # strict: equal offsets keep the smaller row
            best_ok, best_off = best_ok | ok, Mux(take, off, best_off)
            best_bits, win = Mux(take, Value.cast(cand), best_bits), Mux(take, i, win)
        found, bits = Signal(name="walk_found"), Signal(PairLayout.size, name="walk_pair")
        m.d.comb += [found.eq(best_ok), bits.eq(best_bits)]
        following = []
        for i in range(rows):
            nxt = Signal.like(ptr[i], name=f"walk_next{i}")
            m.d.comb += nxt.eq(ptr[i] + (found & (win == i)))
            following.append(nxt)
        return found, bits, following
