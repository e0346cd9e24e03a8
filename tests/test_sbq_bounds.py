"""Widths the SBQ RTL is sized by, recomputed from the golden model."""

import pytest

from golden.sbq import rank_pairs
from hdl.sbq.compute_lane import MAX_PRODUCT_SUM


@pytest.mark.parametrize("wbits", [4, 8])
def test_product_sum_bound(wbits):
    """The accumulator width bound: the largest |subset sum| of one multiplication's term products."""
    best = 0
    for a in range(-128, 128):
        for w in range(-(1 << (wbits - 1)), 1 << (wbits - 1)):
            values = [p[0] for p in rank_pairs(a, w)]
            best = max(best, sum(v for v in values if v > 0), -sum(v for v in values if v < 0))
    assert best == MAX_PRODUCT_SUM[wbits]
