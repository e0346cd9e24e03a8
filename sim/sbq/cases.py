"""Test data for the SBQ lane and IPU testbenches: random inner products and deliberate corner cases.

Corner cases are built from ``golden.sbq.rank_pairs`` (pair counts, offset ties) for the lane
parameters at hand, so that they hit the intended queue states for every ``(B, C, D, wbits)``.
"""

from __future__ import annotations

import random
from functools import lru_cache

import torch

from golden.sbq import dot, rank_pairs


def weight_range(wbits: int) -> range:
    return range(-(1 << (wbits - 1)), 1 << (wbits - 1))


@lru_cache(maxsize=4)
def _by_count(wbits: int) -> dict[int, list[tuple[int, int]]]:
    """Operand pairs ``(a, w)`` grouped by their number of term pairs ``n``."""
    table: dict[int, list[tuple[int, int]]] = {}
    for a in range(-128, 128):
        for w in weight_range(wbits):
            table.setdefault(len(rank_pairs(a, w)), []).append((a, w))
    return table


def with_count(n: int, wbits: int, rng: random.Random) -> tuple[int, int]:
    """A random operand pair with exactly ``n`` term pairs (the closest count that exists)."""
    table = _by_count(wbits)
    best = min(table, key=lambda k: (abs(k - n), -k))
    return rng.choice(table[best])


def heaviest(wbits: int, rng: random.Random) -> tuple[int, int]:
    return rng.choice(_by_count(wbits)[max(_by_count(wbits))])


def tie_at(rank: int, wbits: int, rng: random.Random) -> tuple[int, int] | None:
    """A pair whose ranks ``rank - 1`` and ``rank`` share a product offset but differ in value, so that
    swapping the tie order (smaller activation index first) would change what is computed/queued."""
    found = []
    for a in range(-128, 128):
        for w in weight_range(wbits):
            pairs = rank_pairs(a, w)
            if len(pairs) > rank >= 1 and pairs[rank - 1][1] == pairs[rank][1] and pairs[rank - 1][0] != pairs[rank][0]:
                found.append((a, w))
    return rng.choice(found) if found else None


def random_vector(length: int, wbits: int, rng: random.Random, p_zero: float = 0.25):
    """Random operands; some zeros (spare cycles that pop) and some small values (few terms)."""
    a, w = [], []
    for _ in range(length):
        kind = rng.random()
        if kind < p_zero:
            a.append(0 if rng.random() < 0.5 else rng.randrange(-128, 128))
            w.append(0 if a[-1] else rng.choice(weight_range(wbits)))
        elif kind < 0.45:
            a.append(rng.randrange(-4, 5))
            w.append(rng.choice(weight_range(wbits)))
        else:
            a.append(rng.randrange(-128, 128))
            w.append(rng.choice(weight_range(wbits)))
    return a, w


def lane_corner_cases(budget: int, comp: int, depth: int, wbits: int, seed: int = 7):
    """``(name, a, w)`` sequences of one lane, each one inner product."""
    rng = random.Random(seed)
    lo = min(weight_range(wbits))
    heavy = [heaviest(wbits, rng) for _ in range(depth + 3)]
    zeros_to_drain = -(-depth // budget) + 1
    cases = [
        ("all zeros", [0] * 5, [0] * 5),
        ("all -128", [-128] * 6, [lo] * 6),
        ("all -1", [-1] * 6, [-1] * 6),
        ("single element", [heavy[0][0]], [heavy[0][1]]),
        ("queue overflow then drain", [a for a, _ in heavy] + [0] * zeros_to_drain, [w for _, w in heavy] + [0] * zeros_to_drain),
        ("queue empty at spare cycles", [0, 0, 1, 0, heavy[0][0], 0, 0], [0, 0, 1, 0, heavy[0][1], 0, 0]),
    ]
    if comp:
        fill = [heaviest(wbits, rng) for _ in range(-(-depth // comp))]
        cases.append(("queue filled to depth, then drained", [a for a, _ in fill] + [0] * zeros_to_drain,
                      [w for _, w in fill] + [0] * zeros_to_drain))
        # A full queue popped once in the last cycle of a multiplication (n = B - 1), then pushed in
        # the first cycle of the next one; and pushes in a window's last cycle then a pop in cycle 0.
        light = with_count(budget - 1, wbits, rng)
        seq = [heaviest(wbits, rng) for _ in range(depth + 1)] + [light, heaviest(wbits, rng), light, (0, 0), (0, 0)]
        cases.append(("pop in last cycle, push in next first cycle", [a for a, _ in seq], [w for _, w in seq]))
    exact = with_count(budget, wbits, rng)
    if len(rank_pairs(*exact)) == budget:
        seq = [exact] * 3 + [heaviest(wbits, rng), exact, (0, 0), exact]
        cases.append(("exactly B pairs", [a for a, _ in seq], [w for _, w in seq]))
    for rank, what in ((budget, "computed/queued boundary"), (budget + comp, "queued/dropped boundary")):
        tie = tie_at(rank, wbits, rng)
        if tie is not None:
            seq = [tie, tie, (0, 0), tie]
            cases.append((f"offset tie at the {what}", [a for a, _ in seq], [w for _, w in seq]))
    return cases


def expected(a, w, budget: int, comp: int, depth: int, lanes: int) -> int:
    return int(dot(torch.tensor([a], dtype=torch.int64), torch.tensor([w], dtype=torch.int64), budget, comp, depth, lanes)[0])
