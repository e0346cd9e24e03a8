"""The Fig. 6 measure (golden.sbq.outliers): the outlier definition, the counting of computed term
pairs on a hand example, and the kernel-based count equal to the sequential definition."""

import random

import pytest
import torch

from golden.sbq import outliers, rank_pairs
from golden.sbq.kernel import _kernel

pytestmark = pytest.mark.skipif(_kernel() is None, reason="no C compiler")


def test_outlier_values():
    codes = torch.tensor([0] * 98 + [100, -100])  # mean 0, std sqrt(2e4 / 100) = 14.14
    out = outliers.outlier_values(codes, 3.0, 8)
    assert out.shape == (256,)
    flagged = [v for v in range(-128, 128) if out[v + 128]]
    assert flagged == [v for v in range(-128, 128) if abs(v) > 3 * 2 ** 0.5 * 10]  # |v| > 42.43
    w_out = outliers.outlier_values(torch.tensor([1, 1, 1, 1, 7]), 1.5, 4)  # mean 2.2, std 2.4: |v - 2.2| > 3.6
    assert [v for v in range(-8, 8) if w_out[v + 8]] == [-8, -7, -6, -5, -4, -3, -2, 6, 7]


def test_hand_example():
    """lanes = 1, B = C = 2, D = 4: 127 x 7 has 8 term pairs (4 x 2); it computes 2 and queues 2;
    the zero after it pops both (2 spare cycles); 1 x 1 has one pair. Only 127 is an outlier."""
    assert len(rank_pairs(127, 7)) == 8 and len(rank_pairs(1, 1)) == 1
    a, w = [127, 0, 1], [7, 0, 1]
    member = lambda x, y: x == 127  # noqa: E731
    assert outliers.count_reference(a, w, 2, 2, 4, 1, member) == (4, 8)
    assert outliers.count_reference(a, w, 2, 0, 4, 1, member) == (2, 8)  # no compensation
    assert outliers.count_reference(a, w, 2, 2, 1, 1, member) == (3, 8)  # D = 1: one queued, one dropped
    assert outliers.count_reference([127, 1], [7, 1], 2, 2, 4, 1, member) == (3, 8)  # 1 x 1: one spare cycle, one pop
    assert outliers.count_reference([1, 127], [1, 7], 2, 2, 4, 1, member) == (2, 8)  # queued last: dropped at the end
    assert outliers.count_reference(a, w, 2, 2, 4, 1, lambda x, y: True) == (5, 9)
    # the same on the kernel, with the members as a table over (a, w)
    members = torch.zeros(256, 16, dtype=torch.bool)
    members[127 + 128, :] = True
    at, wt = torch.tensor([a]), torch.tensor([w])
    assert outliers.pair_counts(at, wt, 2, 2, 4, 1, members) == 4
    assert outliers.pair_counts(at, wt, 2, 0, 4, 1, members) == 2
    assert outliers.pair_counts(at, wt, 16, 0, 0, 1, members) == 8
    # a pair counts for its own multiplication: 85 x 7 (not an outlier, 8 pairs) queues 2 before
    # 127 x 7 queues 2; one zero pops 85's pairs, a second zero 127's
    for zeros, want in ((1, 2), (2, 4)):
        a2, w2 = [85, 127] + [0] * zeros, [7, 7] + [0] * zeros
        assert outliers.count_reference(a2, w2, 2, 2, 4, 1, member) == (want, 8)
        assert outliers.pair_counts(torch.tensor([a2]), torch.tensor([w2]), 2, 2, 4, 1, members) == want


def test_kernel_count_equals_reference():
    rng = random.Random(3)
    g = torch.Generator().manual_seed(3)
    for _ in range(12):
        budget = rng.randint(1, 5)
        comp, depth, lanes = rng.choice([0, 1, budget]), rng.choice([1, 2, 4]), rng.choice([1, 3, 16])
        length = rng.randint(1, 40)
        a = torch.randint(-128, 128, (3, length), generator=g)
        a[0, : length // 2] = 0
        a[1, ::3] = -128
        w = torch.randint(-8, 8, (9, length), generator=g)
        members = torch.rand(256, 16, generator=g) < 0.3
        tag = lambda x, y: bool(members[x + 128, y + 8])  # noqa: E731
        want = [outliers.count_reference(x, y, budget, comp, depth, lanes, tag) for x in a.tolist() for y in w.tolist()]
        assert outliers.pair_counts(a, w, budget, comp, depth, lanes, members) == sum(c for c, _ in want)
        assert outliers.pair_counts(a, w, 16, 0, 0, lanes, members) == sum(t for _, t in want)


def test_measure_on_a_small_layer():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(-6, 7, (4, 48), generator=g)
    a[0, 5] = 120  # an activation outlier
    w = torch.randint(-2, 3, (10, 48), generator=g)
    w[3, 7] = -8  # a weight outlier
    result = outliers.measure([(a, w)], 3.0, budgets=(2,))
    mults = result["multiplications"]
    assert mults["all"] == 4 * 10 * 48 and mults["outlier"] == 10 + 4  # row 0 at k = 5, output 3 at k = 7
    for key in ("B=2,C=0", "B=2,C=2"):
        for kind in ("outlier", "other", "all"):
            assert 0 < result[key][kind]["share"] <= 1
    assert result["B=2,C=2"]["outlier"]["computed"] >= result["B=2,C=0"]["outlier"]["computed"]
    assert result["gain[B=2]"]["percentage_points"] == round(100 * (result["B=2,C=2"]["outlier"]["share"] - result["B=2,C=0"]["outlier"]["share"]), 2)
