"""The SBQ bench cases ask for the term-pair counts they need (``sim.sbq.cases``)."""

import random

import pytest

from golden.sbq import rank_pairs
from sim.sbq.cases import _by_count, fewer_than


@pytest.mark.parametrize("wbits", [4, 8])
def test_fewer_than_leaves_a_spare_cycle_with_the_most_pairs_that_do(wbits):
    counts = set(_by_count(wbits))
    for budget in range(1, 17):
        got = len(rank_pairs(*fewer_than(budget, wbits, random.Random(budget))))
        assert got < budget and got == max(k for k in counts if k < budget), (budget, got)
    # int8 x int8 has no product of 7 pairs: B = 8 gets 6 (with_count(7) would round up to 8)
    assert 7 not in _by_count(8) and len(rank_pairs(*fewer_than(8, 8, random.Random(0)))) == 6
