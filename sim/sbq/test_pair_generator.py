# amaranth: UnusedElaboratable=no
"""The paper-style SBQ pair generator in Amaranth's simulator: in window cycle ``t`` it gives the golden
pair of rank ``t`` and, for ``t < C``, the pair of rank ``B + t`` of the multiplication loaded at the
end of the previous window, also when its clock enable drops at random: corners and random operand
pairs by default, every operand pair (W4A8 and W8A8) with ``-m slow``."""

import itertools

import pytest

from hdl.sbq.pair_generator import PairGenerator
from sim.sbq.ranks import check_ranks, operands


def run(budget, comp, wbits, pairs, **kwargs):
    return check_ranks(PairGenerator(budget=budget, comp=comp, wbits=wbits), pairs, windows=1, **kwargs)


# Every shape of schedule: the walker from cycle 0 (B = 4) or 1 (B = 3), none (B + C <= 4).
PARAMS = [(4, 4, 8), (3, 2, 8), (2, 2, 8), (4, 4, 4)]
SLOW_PARAMS = [(4, 1, 8), (1, 1, 8), (3, 3, 4), (4, 3, 8), (4, 0, 8), (3, 3, 8), (3, 1, 8), (2, 1, 8), (1, 0, 8),
               (2, 2, 4)]


def _random_run(budget, comp, wbits, count):
    pairs = operands(wbits, count, seed=budget * 100 + comp * 10 + wbits)
    wrong = run(budget, comp, wbits, pairs, seed=budget + comp)
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
