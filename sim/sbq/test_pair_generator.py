# amaranth: UnusedElaboratable=no
"""The paper-style SBQ pair generator in Amaranth's simulator: in window cycle ``t`` it gives the golden
pair of rank ``t`` and, for ``t < C``, the pair of rank ``B + t`` of the multiplication loaded at the
end of the previous window, also when its clock enable drops at random: corners and random operand
pairs by default, every operand pair (W4A8 and W8A8) with ``-m slow``."""

import itertools
import random

import pytest

from golden.sbq import encode_value, rank_pairs
from hdl.sbq.pair_generator import PairGenerator
from hdl.sbq.term_generator import PairLayout, terms_layout
from sim.unit import simulate

ACT_SLOTS = 4
CORNERS = (0, 1, -1, 2, -2, 3, 5, 7, -8, 85, -86, 127, -128, -65, 64, 96, 110, 6, 12, 48)


def _terms(value: int, slots: int):
    """The encoded terms of ``value`` as :func:`terms_layout` constant, from the golden encoder."""
    terms = (encode_value(value, 8) + [(0, 0, False)] * slots)[:slots]
    return terms_layout(slots).const({
        "mag": [m for m, _, _ in terms],
        "off": [o for _, o, _ in terms],
        "neg": sum(int(n) << s for s, (_, _, n) in enumerate(terms)),
        "valid": sum(int(m != 0) << s for s, (m, _, _) in enumerate(terms)),
    })


def _ranked(a: int, w: int) -> list[int]:
    """The golden pairs of ``a * w`` in rank order, as :data:`PairLayout` bits."""
    terms_a, terms_w = encode_value(a, 8), encode_value(w, 8)
    pairs = []
    for _, offset, i, j in rank_pairs(a, w):
        (ma, _, na), (mw, _, nw) = terms_a[i], terms_w[j]
        fields = {"mag_a": ma, "neg_a": int(na), "mag_w": mw, "neg_w": int(nw), "off": offset}
        pairs.append(PairLayout.const(fields).as_value().value)
    return pairs


def run(budget: int, comp: int, wbits: int, operands: list, *, enable: float = 0.8, seed: int = 0) -> list:
    """Drive ``operands`` one per window (``None``: no multiplication in that window); the mismatches
    ``(operands, cycle, what, got, expected)``."""
    rng = random.Random(seed)
    dut = PairGenerator(budget=budget, comp=comp, wbits=wbits)
    wrong = []

    async def bench(ctx):
        schedule = list(operands) + [None]
        for k, operand in enumerate(schedule):
            current = schedule[k - 1] if k >= 1 else None
            ranked = _ranked(*current) if current is not None else []
            for t in range(budget):
                while True:
                    on = rng.random() < enable
                    load = operand is not None and t == budget - 1
                    ctx.set(dut.en, on)
                    ctx.set(dut.cycle, t)
                    ctx.set(dut.load, load)
                    if load:
                        ctx.set(dut.a, _terms(operand[0], ACT_SLOTS))
                        ctx.set(dut.w, _terms(operand[1], wbits // 2))
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


def _corners(wbits: int) -> list:
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
    weights = [w for w in CORNERS if lo <= w <= hi] + [lo, hi]
    return list(itertools.product(CORNERS, weights))


# Every shape of schedule: the walker from cycle 0 (B = 4) or 1 (B = 3), none (B + C <= 4).
PARAMS = [(4, 4, 8), (4, 1, 8), (3, 2, 8), (2, 2, 8), (1, 1, 8), (4, 4, 4), (3, 3, 4)]
SLOW_PARAMS = [(4, 3, 8), (4, 0, 8), (3, 3, 8), (3, 1, 8), (2, 1, 8), (1, 0, 8), (2, 2, 4)]


def _random_run(budget, comp, wbits, count):
    rng = random.Random(budget * 100 + comp * 10 + wbits)
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1))
    operands = _corners(wbits) + [(rng.randrange(-128, 128), rng.randrange(lo, hi)) for _ in range(count)]
    for _ in range(len(operands) // 20):  # windows without a multiplication
        operands.insert(rng.randrange(len(operands)), None)
    wrong = run(budget, comp, wbits, operands, seed=budget + comp)
    assert not wrong, f"{len(wrong)} mismatches; first (a, w), cycle, what, got, expected: {wrong[:3]}"


@pytest.mark.parametrize("budget, comp, wbits", PARAMS)
def test_corners_and_random(budget, comp, wbits):
    _random_run(budget, comp, wbits, 120)


@pytest.mark.slow
@pytest.mark.parametrize("budget, comp, wbits", SLOW_PARAMS)
def test_corners_and_random_other_budgets(budget, comp, wbits):
    _random_run(budget, comp, wbits, 600)


@pytest.mark.slow
def test_w4a8_every_operand_pair():
    operands = list(itertools.product(range(-128, 128), range(-8, 8)))
    wrong = run(4, 4, 4, operands, enable=0.9)
    assert not wrong, f"{len(wrong)} mismatches; first: {wrong[:3]}"


@pytest.mark.slow
@pytest.mark.parametrize("budget, comp", [(4, 4), (3, 3), (2, 2)])
def test_w8a8_every_operand_pair(budget, comp):
    operands = list(itertools.product(range(-128, 128), repeat=2))
    wrong = run(budget, comp, 8, operands, enable=1.0)
    assert not wrong, f"{len(wrong)} mismatches; first: {wrong[:3]}"


def test_walker_only_when_a_rank_above_3_is_needed():
    assert PairGenerator(budget=4, comp=1).walks and PairGenerator(budget=3, comp=2).walks
    assert not PairGenerator(budget=3, comp=1).walks and not PairGenerator(budget=2, comp=2).walks


@pytest.mark.parametrize("kwargs, error, message", [
    ({"budget": 5}, ValueError, "budget must be in 1..4, got 5"),
    ({"budget": 0}, ValueError, "budget must be in 1..4, got 0"),
    ({"budget": 2, "comp": 3}, ValueError, "comp must be <= budget (2)"),
    ({"wbits": 6}, ValueError, "wbits must be one of"),
    ({"budget": "4"}, TypeError, "budget must be an integer"),
])
def test_parameters_are_validated(kwargs, error, message):
    with pytest.raises(error) as raised:
        PairGenerator(**kwargs)
    assert str(raised.value).startswith(message)
