"""SBQ term generator: ranked term pairs, one per cycle, with the compensation group in parallel.

Implementation of the idea of the SBQ paper, section III-C (ranked pairs by product offset, the
definitely computed group separated in advance so that computation and generation overlap), by a
*frontier selector*: a term's offset strictly decreases along the slots of a leading-one
encoding, so along each row ``i`` of the product table (activation term ``i`` times weight terms
``j = 0, 1, ...``) the product offset strictly decreases. The next pair in rank order is therefore
always the head of one row: with a pointer ``ptr[i]`` per row (its first pair not yet taken), one
cycle compares the ``T_a = 4`` candidate offsets ``off_a[i] + off_w[ptr[i]]``, takes the largest
(equal offsets: the smaller ``i``, which is the SBQ tie rule of ``docs/sbq.md``, since a row's head
has the smallest ``j`` left) and advances that row's pointer. Cost: 4 small adders, 3 comparators
and 4 pointers of ``log2(T_w + 1)`` bits.

Three selectors form the generator:

* the *splitter* runs one window ahead on the next multiplication (stage S): after its ``B``
  extractions its pointers delimit the top-``B`` pairs (the definitely computed group);
* the *compute selector* gives, in cycle ``t`` of the current multiplication's window (stage C), the
  pair of rank ``t`` (significant, computed);
* the *queue selector* starts from the splitter's pointers and gives, in cycle ``t < C``, the pair of
  rank ``B + t`` (the compensation candidate, offered to the term queue).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .term_encoder import term_slots

__all__ = ["TermGenerator", "terms_layout", "PairLayout", "check_lane_params"]

ACT_BITS = 8


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


def _select(m: Module, a, w, ptr: list, name: str):
    """One frontier step: the highest ranked pair not taken yet, and the pointers after taking it.

    Returns ``(found, pair, next_ptr)``; ``pair`` is a :data:`PairLayout` view. Written with
    ``Mux``/``word_select`` only (continuous assignments in Verilog), so that Icarus evaluates it
    from time 0 even when its inputs never change.
    """
    rows, cols = len(ptr), len(w.valid)
    # One extra all-zero (invalid) column for a pointer past the last weight term.
    w_valid = Cat(w.valid, Const(0, 1))
    w_off = Cat(Value.cast(w.off), Const(0, 3))
    w_mag = Cat(Value.cast(w.mag), Const(0, 2))
    w_neg = Cat(w.neg, Const(0, 1))
    a_off, a_mag = Value.cast(a.off), Value.cast(a.mag)

    # Linear scan with a strict ">" so that equal offsets keep the smaller row index.
    best_ok, best_off, best_pair = Const(0, 1), Const(0, 4), Const(0, PairLayout.size)
    win = Const(0, range(max(rows, 2)))
    for i in range(rows):
        ok = Signal(name=f"{name}_ok{i}")
        off = Signal(4, name=f"{name}_off{i}")
        cand = Signal(PairLayout, name=f"{name}_cand{i}")
        m.d.comb += [
            ok.eq(a.valid[i] & w_valid.bit_select(ptr[i], 1)),
            off.eq(a_off[3 * i : 3 * i + 3] + w_off.word_select(ptr[i], 3)),
            cand.mag_a.eq(a_mag[2 * i : 2 * i + 2]),
            cand.neg_a.eq(a.neg[i]),
            cand.mag_w.eq(w_mag.word_select(ptr[i], 2)),
            cand.neg_w.eq(w_neg.bit_select(ptr[i], 1)),
            cand.off.eq(off),
        ]
        take = Signal(name=f"{name}_take{i}")
        m.d.comb += take.eq(ok & (~best_ok | (off > best_off)))
        nxt_ok, nxt_off = Signal(name=f"{name}_bok{i}"), Signal(4, name=f"{name}_boff{i}")
        nxt_pair, nxt_win = Signal(PairLayout.size, name=f"{name}_bpair{i}"), Signal(range(max(rows, 2)), name=f"{name}_win{i}")
        m.d.comb += [
            nxt_ok.eq(best_ok | ok),
            nxt_off.eq(Mux(take, off, best_off)),
            nxt_pair.eq(Mux(take, Value.cast(cand), best_pair)),
            nxt_win.eq(Mux(take, i, win)),
        ]
        best_ok, best_off, best_pair, win = nxt_ok, nxt_off, nxt_pair, nxt_win

    pair = Signal(PairLayout, name=f"{name}_pair")
    m.d.comb += pair.eq(best_pair)
    next_ptr = []
    for i in range(rows):
        nxt = Signal.like(ptr[i], name=f"{name}_next{i}")
        m.d.comb += nxt.eq(ptr[i] + (best_ok & (win == i)))
        next_ptr.append(nxt)
    return best_ok, pair, next_ptr


class TermGenerator(wiring.Component):
    """Ranked term pairs of SBQ multiplications: rank ``t`` and rank ``B + t`` in window cycle ``t``.

    Parameters: ``budget`` (``B``), ``comp`` (``C <= B``), ``wbits`` (4 or 8; activations are 8 bits).

    A multiplication spends two windows of ``B`` cycles here: in stage S (the splitter finds its
    top-``B`` group) and then in stage C (its pairs come out). Ports:

    * ``a``, ``w``: in, the encoded terms (:func:`terms_layout`) of the next multiplication.
    * ``load``: in, 1 when ``a``/``w`` hold a multiplication (else stage S gets an empty one).
    * ``cycle``: in, ``range(B)``, the cycle of the window; the window ends when ``cycle == B - 1``,
      then stage C takes stage S and stage S takes ``a``/``w``.
    * ``en``: in, clock enable: when 0 nothing changes (the outputs stay those of this cycle).
    * ``sig_valid``/``sig``: out, the pair of rank ``cycle`` of the stage-C multiplication
      (:data:`PairLayout`), when it has that many pairs.
    * ``queued_valid``/``queued``: out, the pair of rank ``B + cycle`` when ``cycle < C`` and it exists.

    Latency: a multiplication loaded at the end of window ``k`` gives its pairs in window ``k + 2``.
    Throughput: one multiplication per ``B`` cycles, no back-pressure (``en`` stalls it).
    """

    def __init__(self, *, budget: int = 4, comp: int = 4, wbits: int = 4):
        check_lane_params(budget, comp, None, wbits)
        self.budget, self.comp, self.wbits = budget, comp, wbits
        self.a_slots, self.w_slots = term_slots(ACT_BITS), term_slots(wbits)
        super().__init__({
            "a": In(terms_layout(self.a_slots)),
            "w": In(terms_layout(self.w_slots)),
            "load": In(1),
            "cycle": In(range(budget)),
            "en": In(1),
            "sig_valid": Out(1),
            "sig": Out(PairLayout),
            "queued_valid": Out(1),
            "queued": Out(PairLayout),
        })

    def elaborate(self, platform):
        m = Module()
        rows, cols = self.a_slots, self.w_slots

        def pointers(prefix):
            return [Signal(range(cols + 1), name=f"{prefix}{i}") for i in range(rows)]

        s_a = Signal(terms_layout(rows), name="s_a")
        s_w = Signal(terms_layout(cols), name="s_w")
        c_a = Signal(terms_layout(rows), name="c_a")
        c_w = Signal(terms_layout(cols), name="c_w")
        split, comp_ptr, queue_ptr = pointers("split"), pointers("cptr"), pointers("qptr")

        _, _, split_next = _select(m, s_a, s_w, split, "splitter")
        sig_found, sig_pair, comp_next = _select(m, c_a, c_w, comp_ptr, "compute")
        q_found, q_pair, queue_next = _select(m, c_a, c_w, queue_ptr, "queue")

        pushing = Signal()
        m.d.comb += pushing.eq(self.cycle < self.comp if self.comp else 0)
        m.d.comb += [
            self.sig_valid.eq(sig_found),
            self.sig.eq(sig_pair),
            self.queued_valid.eq(q_found & pushing),
            self.queued.eq(q_pair),
        ]

        window_end = self.cycle == self.budget - 1
        with m.If(self.en):
            with m.If(window_end):
                m.d.sync += [c_a.eq(s_a), c_w.eq(s_w)]
                m.d.sync += [p.eq(0) for p in comp_ptr]
                m.d.sync += [q.eq(n) for q, n in zip(queue_ptr, split_next)]
                m.d.sync += [p.eq(0) for p in split]
                with m.If(self.load):
                    m.d.sync += [s_a.eq(self.a), s_w.eq(self.w)]
                with m.Else():
                    m.d.sync += [s_a.eq(0), s_w.eq(0)]
            with m.Else():
                m.d.sync += [p.eq(n) for p, n in zip(split, split_next)]
                m.d.sync += [p.eq(n) for p, n in zip(comp_ptr, comp_next)]
                with m.If(pushing):
                    m.d.sync += [p.eq(n) for p, n in zip(queue_ptr, queue_next)]
        return m
