"""The SBQ golden inner product: sequential reference, vectorized torch path and C kernel agree,
and the lane/queue rules of the definition (`golden.sbq.model.dot_reference`) hold on hand-built cases."""

import random

import pytest
import torch

from golden.sbq import dot, dot_matrix, dot_reference, rank_pairs


def test_rank_order_and_tie_rule():
    pairs = rank_pairs(110, -3)  # a terms 3<<5, 3<<2, 2<<0; w terms -2<<1, 1<<0
    assert [(p[1], p[2], p[3]) for p in pairs] == [(6, 0, 0), (5, 0, 1), (3, 1, 0), (2, 1, 1), (1, 2, 0), (0, 2, 1)]
    assert sum(p[0] for p in pairs) == 110 * -3
    # ties: 127 * 127 has offsets 5,3,1,0 on both sides; equal sums go top row (smaller i) first
    ties = rank_pairs(127, 127)
    keys = [(-p[1], p[2], p[3]) for p in ties]
    assert keys == sorted(keys) and len(ties) == 16
    assert [(p[2], p[3]) for p in ties if p[1] == 6] == [(0, 2), (1, 1), (2, 0)]  # 5+1, 3+3, 1+5


def test_large_budget_is_exact():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(-128, 128, (50, 70), generator=g)
    w = torch.randint(-128, 128, (50, 70), generator=g)
    assert torch.equal(dot(a, w, budget=16, comp=0, depth=0), (a * w).sum(-1))


def test_queue_rules_by_hand():
    # lanes=1. 127*7: a has 4 terms, w=7 has 2 (3<<1, 1<<0) -> n=8 pairs.
    p = [v for v, *_ in rank_pairs(127, 7)]
    # B=2, C=2, D=1: computes p0,p1; pushes p2 (queue full, p3 dropped); then a zero pops p2.
    assert dot_reference([127, 0], [7, 0], 2, 2, 1, lanes=1) == p[0] + p[1] + p[2]
    # D=4: pushes p2,p3; two zeros give 4 spare cycles, popping both.
    assert dot_reference([127, 0, 0], [7, 0, 0], 2, 2, 4, lanes=1) == sum(p[:4])
    # queue entries left at the end of the inner product are dropped
    assert dot_reference([127], [7], 2, 2, 4, lanes=1) == p[0] + p[1]
    # exactly B pairs: nothing queued, nothing popped
    q = [v for v, *_ in rank_pairs(5, 3)]  # 2<<1,1<<0 x 3<<0 -> 2 pairs
    assert len(q) == 2 and dot_reference([5, 127, 0], [3, 7, 0], 2, 2, 4, lanes=1) == 15 + p[0] + p[1] + p[2] + p[3]
    # C=0 never queues (term quantization without compensation)
    assert dot_reference([127, 0, 0], [7, 0, 0], 2, 0, 4, lanes=1) == p[0] + p[1]
    # zero padding to a multiple of lanes: element 1 goes to lane 1, whose queue nobody pops
    assert dot_reference([127, 127], [7, 7], 2, 2, 4, lanes=4) == 2 * (p[0] + p[1])


def _random_case(rng):
    budget = rng.randint(1, 6)
    comp = rng.randint(0, budget + 1)
    depth = rng.randint(0, 5)
    lanes = rng.choice([1, 2, 3, 4, 16])
    length = rng.randint(1, 45)
    pick = lambda hi: rng.choice([rng.randint(-hi - 1, hi), 0, -1, -hi - 1, hi])  # noqa: E731
    wbits_hi = rng.choice([7, 127])
    a = [pick(127) for _ in range(length)]
    w = [pick(wbits_hi) for _ in range(length)]
    return a, w, budget, comp, depth, lanes


@pytest.mark.parametrize("seed", range(4))
def test_vectorized_and_kernel_equal_reference(seed):
    rng = random.Random(seed)
    for _ in range(60):
        a, w, budget, comp, depth, lanes = _random_case(rng)
        expected = dot_reference(a, w, budget, comp, depth, lanes)
        assert int(dot(torch.tensor(a), torch.tensor(w), budget, comp, depth, lanes)) == expected
        mat_a = torch.tensor([a, [0] * len(a), [-128] * len(a)])
        mat_w = torch.tensor([w, [-1] * len(w)])
        want = torch.tensor([[dot_reference(x, y, budget, comp, depth, lanes) for y in mat_w.tolist()] for x in mat_a.tolist()])
        for backend in ("torch", "c"):
            got = dot_matrix(mat_a, mat_w, budget, comp, depth, lanes, backend=backend)
            assert torch.equal(got, want), (backend, budget, comp, depth, lanes)


def test_matrix_chunking_and_broadcast():
    g = torch.Generator().manual_seed(5)
    a = torch.randint(-128, 128, (7, 33), generator=g)
    w = torch.randint(-8, 8, (5, 33), generator=g)
    full = dot(a[:, None, :], w[None, :, :], 3, 3, 4, lanes=4)
    assert torch.equal(dot_matrix(a, w, 3, 3, 4, lanes=4, backend="torch", chunk=10), full)
    assert torch.equal(dot_matrix(a, w, 3, 3, 4, lanes=4, backend="c"), full)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dot(torch.tensor([128]), torch.tensor([1]), 4, 4, 4), "int8 range"),
        (lambda: dot(torch.tensor([1.5]), torch.tensor([1]), 4, 4, 4), "integer tensor"),
        (lambda: dot(torch.tensor([1]), torch.tensor([1]), 0, 0, 4), "budget must be"),
        (lambda: dot(torch.tensor([1]), torch.tensor([1]), 4, -1, 4), "comp must be"),
        (lambda: dot_reference([1, 2], [1], 4, 4, 4), "differ in length"),
        (lambda: dot_matrix(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 4, dtype=torch.long), 4, 4, 4), "expected a"),
        (lambda: dot_matrix(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.long), 4, 4, 4, backend="gpu"), "backend"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
