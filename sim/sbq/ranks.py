"""A cycle-by-cycle check of any SBQ pair ranker against the golden ranking, in Amaranth's simulator.

A *ranker* has the ports of the SBQ generators (``a``, ``w``, ``load``, ``cycle``, ``en`` in;
``sig_valid``/``sig`` and ``queued_valid``/``queued`` out) and gives, in cycle ``t`` of the window
``windows`` after the one that loaded a multiplication, its pair of rank ``t`` and, for ``t < C``,
of rank ``B + t``: :class:`hdl.sbq.pair_generator.PairGenerator` (1 window),
:class:`hdl.sbq.sorters.SortRanker` (2 windows).
"""

from __future__ import annotations

import itertools
import random

from golden.sbq import encode_value, rank_pairs
from hdl.sbq.term_generator import PairLayout, terms_layout
from sim.unit import simulate

__all__ = ["ACT_SLOTS", "CORNERS", "terms_const", "ranked_pairs", "operands", "check_ranks"]

ACT_SLOTS = 4
#: Activation values with every term count and the extremes; weights take those in their range.
CORNERS = (0, 1, -1, 2, -2, 3, 5, 7, -8, 85, -86, 127, -128, -65, 64, 96, 110, 6, 12, 48)


def terms_const(value: int, slots: int):
    """The encoded terms of ``value`` as a :func:`terms_layout` constant, from the golden encoder."""
    terms = (encode_value(value, 8) + [(0, 0, False)] * slots)[:slots]
    return terms_layout(slots).const({
        "mag": [m for m, _, _ in terms],
        "off": [o for _, o, _ in terms],
        "neg": sum(int(n) << s for s, (_, _, n) in enumerate(terms)),
        "valid": sum(int(m != 0) << s for s, (m, _, _) in enumerate(terms)),
    })


def ranked_pairs(a: int, w: int) -> list[int]:
    """The golden pairs of ``a * w`` in rank order, as :data:`PairLayout` bits."""
    terms_a, terms_w = encode_value(a, 8), encode_value(w, 8)
    pairs = []
    for _, offset, i, j in rank_pairs(a, w):
        (ma, _, na), (mw, _, nw) = terms_a[i], terms_w[j]
        fields = {"mag_a": ma, "neg_a": int(na), "mag_w": mw, "neg_w": int(nw), "off": offset}
        pairs.append(PairLayout.const(fields).as_value().value)
    return pairs


def operands(wbits: int, count: int, seed: int, *, corners: bool = True, bubbles: bool = True) -> list:
    """Every corner pair (with ``corners``), ``count`` random pairs and (with ``bubbles``) a window
    without a multiplication (``None``) for every 20 of them."""
    rng = random.Random(seed)
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1))
    weights = [w for w in CORNERS if lo <= w < hi] + [lo, hi - 1]
    out = list(itertools.product(CORNERS, weights)) if corners else []
    out += [(rng.randrange(-128, 128), rng.randrange(lo, hi)) for _ in range(count)]
    if bubbles:
        for _ in range(len(out) // 20):
            out.insert(rng.randrange(len(out)), None)
    return out


def check_ranks(dut, operands: list, *, windows: int, enable: float = 0.8, seed: int = 0) -> list:
    """Drive ``operands`` into the ranker ``dut`` one per window (``None``: no multiplication), the
    clock enable on with the chance ``enable``; the mismatches ``(operands, cycle, what, got, expected)``."""
    rng = random.Random(seed)
    budget, comp, wslots = dut.budget, dut.comp, dut.wbits // 2
    wrong = []

    async def bench(ctx):
        schedule = list(operands) + [None] * windows
        for k, operand in enumerate(schedule):
            current = schedule[k - windows] if k >= windows else None
            ranked = ranked_pairs(*current) if current is not None else []
            for t in range(budget):
                while True:
                    on = rng.random() < enable
                    load = operand is not None and t == budget - 1
                    ctx.set(dut.en, on)
                    ctx.set(dut.cycle, t)
                    ctx.set(dut.load, load)
                    if load:
                        ctx.set(dut.a, terms_const(operand[0], ACT_SLOTS))
                        ctx.set(dut.w, terms_const(operand[1], wslots))
                    sig = ranked[t] if t < len(ranked) else None
                    queued = ranked[budget + t] if t < comp and budget + t < len(ranked) else None
                    got = (ctx.get(dut.sig_valid), ctx.get(dut.queued_valid))
                    if got != (sig is not None, queued is not None):
                        wrong.append((current, t, "valid", got, (sig is not None, queued is not None)))
                    if sig is not None and ctx.get(dut.sig).as_value().value != sig:
                        wrong.append((current, t, "sig", ctx.get(dut.sig).as_value().value, sig))
                    if queued is not None and ctx.get(dut.queued).as_value().value != queued:
                        wrong.append((current, t, "queued", ctx.get(dut.queued).as_value().value, queued))
                    await ctx.tick()
                    if on:
                        break

    simulate(dut, bench)
    return wrong
