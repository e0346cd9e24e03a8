"""The SBQ term generator in Amaranth's simulator: in window cycle ``t`` of a multiplication it gives
the golden pair of rank ``t`` and, for ``t < C``, the pair of rank ``B + t``, also when its clock
enable drops at random."""

import random

import pytest

from golden.sbq import encode_value, rank_pairs
from hdl.sbq import TermGenerator
from hdl.sbq.term_generator import WINDOWS, PairLayout, terms_layout
from sim.unit import simulate

ACT_SLOTS = 4


def _terms(value: int, slots: int):
    """The encoded terms of ``value`` as :func:`terms_layout` constant, from the golden encoder."""
    terms = encode_value(value, 8) + [(0, 0, False)] * slots
    terms = terms[:slots]
    return terms_layout(slots).const({
        "mag": [m for m, _, _ in terms],
        "off": [o for _, o, _ in terms],
        "neg": sum(int(n) << s for s, (_, _, n) in enumerate(terms)),
        "valid": sum(int(m != 0) << s for s, (m, _, _) in enumerate(terms)),
    })


def _ranked(a: int, w: int) -> list[dict]:
    """The golden pairs of ``a * w`` in rank order, as :data:`PairLayout` field values."""
    terms_a, terms_w = encode_value(a, 8), encode_value(w, 8)
    pairs = []
    for _, offset, i, j in rank_pairs(a, w):
        (ma, _, na), (mw, _, nw) = terms_a[i], terms_w[j]
        pairs.append({"mag_a": ma, "neg_a": int(na), "mag_w": mw, "neg_w": int(nw), "off": offset})
    return pairs


def _operands(wbits: int, count: int, rng: random.Random) -> list[tuple[int, int]]:
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
    corners = [(a, w) for a in (0, -1, -128, 127, -65, 85) for w in (0, -1, lo, hi)]
    return corners + [(rng.randrange(-128, 128), rng.randint(lo, hi)) for _ in range(count)]


@pytest.mark.parametrize("budget, comp, wbits", [(4, 4, 4), (2, 2, 8), (3, 1, 8), (5, 0, 4), (1, 1, 8)])
def test_ranks_of_every_multiplication(budget, comp, wbits):
    rng = random.Random(budget * 100 + comp * 10 + wbits)
    operands = _operands(wbits, 150, rng)
    dut = TermGenerator(budget=budget, comp=comp, wbits=wbits)
    pair_bits = lambda fields: PairLayout.const(fields).as_value().value  # noqa: E731
    wrong = []

    async def bench(ctx):
        # Window k loads multiplication k at its end; its pairs come out in window k + WINDOWS (3).
        schedule = operands + [None] * WINDOWS
        for k, operand in enumerate(schedule):
            current = schedule[k - WINDOWS] if k >= WINDOWS else None
            ranked = _ranked(*current) if current is not None else []
            for t in range(budget):
                while True:
                    enable = rng.random() < 0.8
                    ctx.set(dut.en, enable)
                    ctx.set(dut.cycle, t)
                    load = operand is not None and t == budget - 1
                    ctx.set(dut.load, load)
                    if load:
                        ctx.set(dut.a, _terms(operand[0], ACT_SLOTS))
                        ctx.set(dut.w, _terms(operand[1], wbits // 2))
                    sig = ranked[t] if t < len(ranked) else None
                    queued = ranked[budget + t] if t < comp and budget + t < len(ranked) else None
                    got = (ctx.get(dut.sig_valid), ctx.get(dut.queued_valid))
                    if got != (sig is not None, queued is not None):
                        wrong.append((current, t, "valid", got))
                    if sig is not None and ctx.get(dut.sig).as_value().value != pair_bits(sig):
                        wrong.append((current, t, "sig", ctx.get(dut.sig), sig))
                    if queued is not None and ctx.get(dut.queued).as_value().value != pair_bits(queued):
                        wrong.append((current, t, "queued", ctx.get(dut.queued), queued))
                    await ctx.tick()
                    if enable:
                        break

    simulate(dut, bench)
    assert not wrong, f"{len(wrong)} mismatches; first (a, w), cycle, what: {wrong[:3]}"
