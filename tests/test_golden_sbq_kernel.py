"""The table-driven C kernel of `golden.sbq.dot_matrix` (golden/sbq/kernel.c): its table, and both
of its paths (AVX2 and scalar) equal to the sequential reference `golden.sbq.dot_reference` on
random operands at every budget/compensation/depth the scheme takes and on adversarial corners."""

import random

import pytest
import torch

from golden.sbq import dot_reference, rank_pairs
from golden.sbq import kernel

LIB = kernel._kernel()
pytestmark = pytest.mark.skipif(LIB is None, reason="no C compiler")
PATHS = [pytest.param(True, id="avx2"), pytest.param(False, id="scalar")]


def reference(a, w, budget, comp, depth, lanes):
    return torch.tensor([[dot_reference(x, y, budget, comp, depth, lanes) for y in w.tolist()] for x in a.tolist()],
                        dtype=torch.int64).reshape(a.shape[0], w.shape[0])


def run(a, w, budget, comp, depth, lanes, simd):
    a, w = torch.as_tensor(a, dtype=torch.int64), torch.as_tensor(w, dtype=torch.int64)
    return kernel._dot_matrix_kernel(LIB, a, w, budget, comp, depth, lanes, simd=simd)


def test_avx2_path_runs_here():
    # the speed figures are of the AVX2 path; the x86-64 machines this project runs on have it
    assert LIB.sbq_avx2_available() == 1


def test_w4a8_table_shape_and_entries():
    table, ceff = kernel.lane_table(4, 4, 4)
    assert ceff == 4 and tuple(table.shape) == (4096, 6) and table.dtype == torch.int32
    table8, ceff8 = kernel.lane_table(4, 4, 8)
    assert ceff8 == 4 and tuple(table8.shape) == (65536, 6)
    assert tuple(kernel.lane_table(2, 0, 4)[0].shape) == (4096, 2)  # C = 0: nothing is ever offered
    assert kernel.lane_table(6, 16, 4)[1] == 2  # int8 x int4 has at most 8 pairs: 2 beyond B = 6
    for a, w in [(127, 7), (-128, -8), (0, 5), (-1, -1), (85, -3), (3, 0)]:
        pairs = [v for v, *_ in rank_pairs(a, w)]
        entry = table[(a + 128) * 16 + (w + 8)].tolist()
        computed, delta = entry[0] >> 16, (entry[0] & 0xFFFF) - ((entry[0] & 0x8000) << 1)
        assert computed == sum(pairs[:4])
        assert delta == (min(4, len(pairs) - 4) if len(pairs) > 4 else len(pairs) - 4)
        offered = pairs[4:8]
        assert entry[1:] == [sum(offered[:p]) for p in range(5)]
        assert table8[(a + 128) * 256 + (w + 128)].tolist() == entry


def test_table_wbits_choice():
    assert kernel.table_wbits(torch.tensor([-8, 7, 0])) == 4
    assert kernel.table_wbits(torch.tensor([-9, 0])) == 8 and kernel.table_wbits(torch.tensor([8])) == 8


def _operands(rng, rows, outs, length, whi):
    pick = lambda hi: rng.choice([rng.randint(-hi - 1, hi), rng.randint(-hi - 1, hi), 0, -1, -hi - 1, hi])  # noqa: E731
    a = torch.tensor([[pick(127) for _ in range(length)] for _ in range(rows)], dtype=torch.int64)
    w = torch.tensor([[pick(whi) for _ in range(length)] for _ in range(outs)], dtype=torch.int64)
    return a, w


@pytest.mark.parametrize("budget", [1, 2, 3, 4, 5, 6, 8, 12, 16])
def test_random_every_setting(budget):
    """Every compensation 0..B+2 and depth 0..7 at this budget, W4A8 and W8A8, both paths."""
    rng = random.Random(budget)
    for comp in sorted({0, 1, budget // 2, budget, budget + 2}):
        for depth in (0, 1, 2, 4, 7):
            for whi in (7, 127):
                lanes = rng.choice([1, 3, 4, 16])
                a, w = _operands(rng, 2, rng.choice([1, 9]), rng.randint(1, 40), whi)
                want = reference(a, w, budget, comp, depth, lanes)
                for simd in (True, False):
                    assert torch.equal(run(a, w, budget, comp, depth, lanes, simd), want), (budget, comp, depth, whi, lanes, simd)


def _corner_cases():
    """(name, a rows, w rows): each row pair is one inner product."""
    full = [127] * 12 + [0] * 6  # 16 pairs per multiplication at W8A8: the queue overflows, then drains
    cases = {
        "queue_full_then_drain": ([full, full[::-1]], [[127] * 18, [-128] * 18]),
        "all_ties": ([[127] * 20, [85] * 20], [[127] * 20, [-86] * 20]),  # equal product offsets everywhere
        "extremes": ([[-128] * 33, [-1] * 33, [0] * 33], [[-128] * 33, [-1] * 33, [127] * 33]),
        "length_1": ([[-128], [127], [0]], [[-128], [-1], [7]]),
        "w4_extremes": ([[-128, 127, -1, 0, -65] * 7], [[-8, 7, -1, 0, -8] * 7, [7] * 35]),
        "w4_queue_overflow": ([[127] * 9 + [0] * 3 + [127] * 9], [[7] * 21, [-7] * 21]),
    }
    return cases


@pytest.mark.parametrize("simd", PATHS)
@pytest.mark.parametrize("name", list(_corner_cases()))
def test_corners(name, simd):
    a, w = (torch.tensor(x, dtype=torch.int64) for x in _corner_cases()[name])
    for budget, comp, depth in [(4, 4, 4), (2, 2, 1), (1, 1, 4), (3, 0, 4), (5, 3, 2), (16, 4, 4), (2, 16, 64)]:
        for lanes in (1, 2, 16):  # lengths 1, 18, 20, 21, 33, 35: not multiples of the lanes
            want = reference(a, w, budget, comp, depth, lanes)
            assert torch.equal(run(a, w, budget, comp, depth, lanes, simd), want), (name, budget, comp, depth, lanes)


@pytest.mark.parametrize("simd", PATHS)
def test_shapes(simd):
    """Outputs around the group of 8, no rows, no length."""
    rng = random.Random(7)
    for outs in (1, 7, 8, 9, 17):
        a, w = _operands(rng, 3, outs, 21, 7)
        assert torch.equal(run(a, w, 4, 4, 4, 16, simd), reference(a, w, 4, 4, 4, 16))
    assert run(torch.zeros(0, 5), torch.ones(3, 5), 4, 4, 4, 16, simd).shape == (0, 3)
    assert torch.equal(run(torch.zeros(2, 0), torch.ones(3, 0), 4, 4, 4, 16, simd), torch.zeros(2, 3, dtype=torch.int64))


@pytest.mark.parametrize("simd", PATHS)
def test_longest_sums(simd):
    """L = 65535 at the largest per-lane sums: exact in 32 bits per lane, int64 in all."""
    a = torch.tensor([[-128] * 65535, [-65] * 65535])
    w = torch.tensor([[-128] * 65535, [-65] * 65535])
    out = run(a, w, 16, 0, 0, 1, simd)  # every pair computed: the exact dot, one lane of 65535 steps
    assert out.tolist() == [[65535 * 16384, 65535 * 128 * 65], [65535 * 128 * 65, 65535 * 65 * 65]]
    # B = 1: the queue is full all the time and never popped, except by the one zero that pads lane
    # 15 at the end, whose spare cycle pops that lane's oldest queued pair (rank 1 of its first one)
    got = run(a, w, 1, 1, 4, 16, simd)
    for x, y in [(-128, -128), (-128, -65), (-65, -128), (-65, -65)]:
        pairs = [v for v, *_ in rank_pairs(x, y)]
        want = 65535 * pairs[0] + (pairs[1] if len(pairs) > 1 else 0)
        assert got[int(x == -65), int(y == -65)] == want, (x, y)
