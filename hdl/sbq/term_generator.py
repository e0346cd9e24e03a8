"""SBQ term generator: ranked term pairs, one per cycle, with the compensation group in parallel.

Implementation of the idea of the SBQ paper, section III-C (ranked pairs by product offset, the
definitely computed group separated in advance so that computation and generation overlap), by a
*frontier selector*: a term's offset strictly decreases along the slots of a leading-one
encoding, so along each row ``i`` of the product table (activation term ``i`` times weight terms
``j = 0, 1, ...``) the product offset strictly decreases. The next pair in rank order is therefore
always the head of one row: with a pointer ``ptr[i]`` per row (its first pair not yet taken), one
step compares the ``T_a = 4`` row heads, takes the largest (equal offsets: the smaller ``i``, which
is the SBQ tie rule of ``docs/sbq.md``, since a row's head has the smallest ``j`` left) and advances
that row's pointer.

Built for clock speed: when a multiplication is loaded, the whole table of pair *keys*
(``off_a[i] + off_w[j] + 1``, 0 for a pair that does not exist) is computed once and registered, so a
step has no adder; pointers are one-hot (a row's head is an AND-OR of its keys, and an all-zero
pointer is past the row's end); the largest head is found by all ``T_a (T_a - 1) / 2`` comparisons
in parallel rather than a linear scan.

Two selectors form the generator, one window of ``B`` cycles each, and delay lines replay their
output, so that the compute stage needs no selector at all:

* the *splitter* (stage S1) takes ranks ``0 .. B-1`` of the multiplication, one per cycle, into the
  significant delay line (``2B`` registers);
* the *queue selector* (stage S2) starts from the splitter's pointers and takes ranks
  ``B .. B+C-1`` in cycles ``0 .. C-1`` into the compensation delay line (``B`` registers);
* in cycle ``t`` of the next window (stage C) the two lines give rank ``t`` and rank ``B + t``.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .term_encoder import term_slots

__all__ = ["TermGenerator", "terms_layout", "PairLayout", "SlotLayout", "check_lane_params", "generator_signature",
           "WINDOWS"]

ACT_BITS = 8

#: Windows from loading a multiplication (at a window's end) to its pairs: S1, S2, then out.
WINDOWS = 3


def terms_layout(slots: int) -> data.StructLayout:
    """The encoded terms of one operand, as the :class:`TermEncoder` ports give them."""
    return data.StructLayout({
        "mag": data.ArrayLayout(2, slots),
        "off": data.ArrayLayout(3, slots),
        "neg": slots,
        "valid": slots,
    })


#: One term pair: magnitudes and signs of the two terms and the product offset ``off_a + off_w``.
PairLayout = data.StructLayout({"mag_a": 2, "neg_a": 1, "mag_w": 2, "neg_w": 1, "off": 4})

#: One entry of a delay line: a pair and whether it exists.
SlotLayout = data.StructLayout({"valid": 1, "pair": PairLayout})

#: Largest budget: an int8 x int8 multiplication has at most 16 term pairs.
MAX_BUDGET = 16
#: Largest term queue.
MAX_DEPTH = 64


def check_lane_params(budget: int, comp: int, depth: int | None, wbits: int) -> None:
    """The lane parameters every SBQ component shares: ``budget`` in 1..16, ``comp`` in 0..budget,
    ``depth`` in 1..64 (``None``: not checked), ``wbits`` 4 or 8. ``TypeError``/``ValueError``."""
    integer("budget", budget, min=1, max=MAX_BUDGET)
    integer("comp", comp, min=0)
    if comp > budget:
        raise ValueError(f"comp must be <= budget ({budget}): a lane offers at most one pair to its queue "
                         f"per cycle, got {comp}")
    if depth is not None:
        integer("depth", depth, min=1, max=MAX_DEPTH)
    integer("wbits", wbits, choices=(4, 8))


def generator_signature(a_slots: int, w_slots: int, budget: int) -> wiring.Signature:
    """The ports every generator of ranked term pairs has (:class:`TermGenerator`, and the
    ``PairGenerator`` and ``SortRanker`` it is compared with): terms of ``a`` and ``w`` in, ``load``,
    ``cycle`` (0..budget-1) and ``en``; the pair of rank ``cycle`` (``sig``) and of rank
    ``B + cycle`` (``queued``) out, each with its valid."""
    return wiring.Signature({
        "a": In(terms_layout(a_slots)),
        "w": In(terms_layout(w_slots)),
        "load": In(1),
        "cycle": In(range(budget)),
        "en": In(1),
        "sig_valid": Out(1),
        "sig": Out(PairLayout),
        "queued_valid": Out(1),
        "queued": Out(PairLayout),
    })


def table_layout(rows: int, cols: int) -> data.StructLayout:
    """A loaded multiplication: the key of every pair (``off_a[i] + off_w[j] + 1``, 0: no pair) and the
    magnitude and sign of every term."""
    return data.StructLayout({
        "key": data.ArrayLayout(data.ArrayLayout(4, cols), rows),
        "mag_a": data.ArrayLayout(2, rows),
        "neg_a": rows,
        "mag_w": data.ArrayLayout(2, cols),
        "neg_w": cols,
    })


def _table(m: Module, a, w, rows: int, cols: int):
    """The :func:`table_layout` value of the encoded terms ``a`` and ``w`` (combinational)."""
    table = Signal(table_layout(rows, cols), name="load_table")
    for i in range(rows):
        for j in range(cols):
            m.d.comb += table.key[i][j].eq(Mux(a.valid[i] & w.valid[j], a.off[i] + w.off[j] + 1, 0))
    m.d.comb += [table.mag_a.eq(a.mag), table.neg_a.eq(a.neg), table.mag_w.eq(w.mag), table.neg_w.eq(w.neg)]
    return table


def _select(m: Module, table, ptr: list, name: str):
    """One frontier step: the highest ranked pair not taken yet, and the pointers after taking it.

    ``ptr[i]`` is one-hot over the columns (all zero: row ``i`` is used up). Returns
    ``(found, pair, next_ptr)``; ``pair`` is a :data:`PairLayout` view. Written with ``Mux``
    expressions only (continuous assignments in Verilog), so that Icarus evaluates it from time 0.
    """
    rows, cols = len(ptr), len(ptr[0])
    heads, head_mag_w, head_neg_w = [], [], []
    for i in range(rows):  # the head of each row: an AND-OR over its one-hot pointer
        key, mag, neg = Const(0, 4), Const(0, 2), Const(0, 1)
        for j in range(cols):
            key = key | Mux(ptr[i][j], table.key[i][j], 0)
            mag = mag | Mux(ptr[i][j], table.mag_w[j], 0)
            neg = neg | (ptr[i][j] & table.neg_w[j])
        head = Signal(4, name=f"{name}_head{i}")
        head_mag, head_neg = Signal(2, name=f"{name}_mag_w{i}"), Signal(name=f"{name}_neg_w{i}")
        m.d.comb += [head.eq(key), head_mag.eq(mag), head_neg.eq(neg)]
        heads.append(head)
        head_mag_w.append(head_mag)
        head_neg_w.append(head_neg)

    # All comparisons at once; equal keys go to the smaller row (the SBQ tie rule).
    win = Signal(rows, name=f"{name}_win")
    for i in range(rows):
        wins_over = [(heads[i] > heads[j]) if j < i else (heads[i] >= heads[j]) for j in range(rows) if j != i]
        m.d.comb += win[i].eq(Cat(heads[i] != 0, *wins_over).all())

    key, mag_a, neg_a, mag_w, neg_w = Const(0, 4), Const(0, 2), Const(0, 1), Const(0, 2), Const(0, 1)
    for i in range(rows):  # win is one-hot (or zero): AND-OR multiplexers
        key = key | Mux(win[i], heads[i], 0)
        mag_a = mag_a | Mux(win[i], table.mag_a[i], 0)
        neg_a = neg_a | (win[i] & table.neg_a[i])
        mag_w = mag_w | Mux(win[i], head_mag_w[i], 0)
        neg_w = neg_w | (win[i] & head_neg_w[i])
    pair = Signal(PairLayout, name=f"{name}_pair")
    m.d.comb += [pair.mag_a.eq(mag_a), pair.neg_a.eq(neg_a), pair.mag_w.eq(mag_w), pair.neg_w.eq(neg_w),
                 pair.off.eq(key - 1)]
    next_ptr = []
    for i in range(rows):
        nxt = Signal(cols, name=f"{name}_next{i}")
        m.d.comb += nxt.eq(Mux(win[i], ptr[i] << 1, ptr[i]))
        next_ptr.append(nxt)
    return win.any(), pair, next_ptr


class TermGenerator(wiring.Component):
    """Ranked term pairs of SBQ multiplications: rank ``t`` and rank ``B + t`` in window cycle ``t``.

    Parameters: ``budget`` (``B``), ``comp`` (``C <= B``), ``wbits`` (4 or 8; activations are 8 bits).

    A multiplication spends three windows of ``B`` cycles here: in stage S1 the splitter takes its
    ranks ``0..B-1``, in stage S2 the queue selector its ranks ``B..B+C-1``, and in the third window
    delay lines give them out. Ports:

    * ``a``, ``w``: in, the encoded terms (:func:`terms_layout`) of the next multiplication.
    * ``load``: in, 1 when ``a``/``w`` hold a multiplication (else stage S1 gets an empty one).
    * ``cycle``: in, ``range(B)``, the cycle of the window; the window ends when ``cycle == B - 1``,
      then each stage takes the one before it and stage S1 takes ``a``/``w``.
    * ``en``: in, clock enable: when 0 nothing changes (the outputs stay those of this cycle).
    * ``sig_valid``/``sig``: out, the pair of rank ``cycle`` (:data:`PairLayout`) of the
      multiplication loaded ``WINDOWS = 3`` window ends ago, when it has that many pairs.
    * ``queued_valid``/``queued``: out, its pair of rank ``B + cycle`` when ``cycle < C`` and it exists.

    Latency: a multiplication loaded at the end of window ``k`` gives its pairs in window ``k + 3``;
    every output comes straight from a register. Throughput: one multiplication per ``B`` cycles, no
    back-pressure (``en`` stalls it).
    """

    def __init__(self, *, budget: int = 4, comp: int = 4, wbits: int = 4):
        check_lane_params(budget, comp, None, wbits)
        self.budget, self.comp, self.wbits = budget, comp, wbits
        self.a_slots, self.w_slots = term_slots(ACT_BITS), term_slots(wbits)
        super().__init__(generator_signature(self.a_slots, self.w_slots, budget))

    def elaborate(self, platform):
        m = Module()
        rows, cols, B = self.a_slots, self.w_slots, self.budget
        layout = table_layout(rows, cols)
        loaded = _table(m, self.a, self.w, rows, cols)
        split_table, queue_table = Signal(layout, name="split_table"), Signal(layout, name="queue_table")
        split = [Signal(cols, init=1, name=f"split{i}") for i in range(rows)]
        queue_ptr = [Signal(cols, init=1, name=f"qptr{i}") for i in range(rows)]

        split_found, split_pair, split_next = _select(m, split_table, split, "splitter")
        q_found, q_pair, queue_next = _select(m, queue_table, queue_ptr, "queue")

        pushing = Signal()
        m.d.comb += pushing.eq(self.cycle < self.comp if self.comp else 0)

        # Delay lines: rank t of stage S1 comes out 2B cycles later, rank B + t of stage S2 B cycles later.
        sig_line = [Signal(SlotLayout, name=f"sig_line{k}") for k in range(2 * B)]
        queue_line = [Signal(SlotLayout, name=f"queue_line{k}") for k in range(B)]
        m.d.comb += [
            self.sig_valid.eq(sig_line[-1].valid),
            self.sig.eq(sig_line[-1].pair),
            self.queued_valid.eq(queue_line[-1].valid),
            self.queued.eq(queue_line[-1].pair),
        ]

        window_end = self.cycle == B - 1
        with m.If(self.en):
            m.d.sync += [
                sig_line[0].valid.eq(split_found),
                sig_line[0].pair.eq(split_pair),
                queue_line[0].valid.eq(q_found & pushing),
                queue_line[0].pair.eq(q_pair),
            ]
            m.d.sync += [later.eq(earlier) for earlier, later in zip(sig_line, sig_line[1:])]
            m.d.sync += [later.eq(earlier) for earlier, later in zip(queue_line, queue_line[1:])]
            with m.If(window_end):
                m.d.sync += queue_table.eq(split_table)
                m.d.sync += [q.eq(n) for q, n in zip(queue_ptr, split_next)]
                m.d.sync += [p.eq(1) for p in split]
                with m.If(self.load):
                    m.d.sync += split_table.eq(loaded)
                with m.Else():
                    m.d.sync += split_table.eq(0)
            with m.Else():
                m.d.sync += [p.eq(n) for p, n in zip(split, split_next)]
                with m.If(pushing):
                    m.d.sync += [p.eq(n) for p, n in zip(queue_ptr, queue_next)]
        return m
