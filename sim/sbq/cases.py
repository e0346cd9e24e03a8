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


def fewer_than(n: int, wbits: int, rng: random.Random) -> tuple[int, int]:
    """A random operand pair with the most term pairs below ``n`` (``n >= 1``): a multiplication that
    leaves at least one spare cycle in a window of ``n`` cycles. ``with_count(n - 1)`` does not always:
    when no pair has exactly ``n - 1`` (int8 x int8 has no 7) it may round up to ``n``."""
    table = _by_count(wbits)
    return rng.choice(table[max(k for k in table if k < n)])


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


def lane_model(a, w, budget: int, comp: int, depth: int, *, lifo: bool = False, queue_ties_reversed: bool = False):
    """One lane, sequentially (``golden.sbq.dot_reference`` with ``lanes=1``), with two deliberate
    deviations to show that a case depends on a rule: ``lifo`` pops the newest entry instead of the
    oldest, ``queue_ties_reversed`` orders equal product offsets inside the queued ranks
    ``B..B+C-1`` by the larger activation index first. Returns ``(sum, trace)``; ``trace`` lists, per
    multiplication, the queue length before its spare cycles and how many of them popped."""
    total, queue, trace = 0, [], []
    for x, y in zip(a, w):
        pairs = rank_pairs(x, y)
        n = len(pairs)
        total += sum(p[0] for p in pairs[:budget])
        offered = pairs[budget : budget + min(comp, max(n - budget, 0))]
        if queue_ties_reversed:
            offered = sorted(offered, key=lambda p: (-p[1], -p[2], -p[3]))
        for value, *_ in offered:
            if len(queue) < depth:
                queue.append(value)
        before, popped = len(queue), 0
        for _ in range(max(budget - n, 0)):
            if queue:
                total += queue.pop() if lifo else queue.pop(0)
                popped += 1
        trace.append((before, popped))
    return total, trace


#: Hand-written golden cases (not derived from ``golden.sbq``) whose answer depends on the queue being
#: first-in first-out, per lane parameter set ``(B, C, D, wbits)``: ``(a, w, fifo_sum, lifo_sum)``.
#: B = C = D = 4, W4A8 (the default design):
#:   127 x 7: 127 = 3<<5 + 3<<3 + 3<<1 + 1<<0 (offsets 5, 3, 1, 0), 7 = 3<<1 + 1<<0 (offsets 1, 0).
#:     Ranked pairs (offset: value): 6: 9<<6 = 576; 5: 3<<5 = 96; 4: 9<<4 = 144; 3: 3<<3 = 24 (computed,
#:     840); 2: 9<<2 = 36; 1: 3<<1 = 6 (i=2); 1: 3<<1 = 6 (i=3); 0: 1 (queued, in this order).
#:   91 x 1 (last): 91 = 2<<5 + 3<<3 + 3<<0: 3 pairs 64 + 24 + 3 = 91, then one spare cycle, which pops
#:     the oldest entry, 36 (a LIFO would pop the newest, 1). The other three are dropped at the end.
#:   FIFO: 840 + 91 + 36 = 967; LIFO: 840 + 91 + 1 = 932 (the exact product would be 980).
HAND_WRITTEN_FIFO = {
    (4, 4, 4, 4): ([127, 91], [7, 1], 967, 932),
}


def fifo_cases(budget: int, comp: int, depth: int, wbits: int, seed: int = 5):
    """``(name, a, w)`` inner products whose sum depends on the queue's order: the hand-written case of
    these parameters (if any), then one found by search: the queue holds entries during spare cycles
    that pop only some of them (W4A8 and int8 weights alike)."""
    cases = []
    hand = HAND_WRITTEN_FIFO.get((budget, comp, depth, wbits))
    if hand is not None:
        cases.append(("hand-written: the oldest queued pair is popped first", hand[0], hand[1]))
    if not comp:
        return cases
    rng = random.Random(seed)
    for _ in range(200):
        heavy = [heaviest(wbits, rng) for _ in range(rng.randrange(1, 3))]
        light = with_count(rng.randrange(max(budget - 2, 0) + 1, budget) if budget > 1 else 0, wbits, rng)
        seq = heavy + [light] + [heaviest(wbits, rng), light]
        a, w = [x for x, _ in seq], [y for _, y in seq]
        fifo, trace = lane_model(a, w, budget, comp, depth)
        spare_with_entries_left = any(popped and before > popped for before, popped in trace)
        if spare_with_entries_left and fifo != lane_model(a, w, budget, comp, depth, lifo=True)[0]:
            cases.append(("spare cycles pop some of the queued pairs, oldest first", a, w))
            break
    return cases


def queued_tie_cases(budget: int, comp: int, depth: int, wbits: int, seed: int = 6):
    """A multiplication with two equal-offset, different-value pairs inside its queued ranks
    ``B..B+C-1``, followed (as the last multiplication) by one with just enough spare cycles to pop
    the first of them and not the second: the sum depends on the tie rule inside the queued group."""
    rng = random.Random(seed)
    for r in range(budget + 1, budget + comp):
        if r - budget + 1 > depth:
            break
        tie = tie_at(r, wbits, rng)
        follower = with_count(2 * budget - r, wbits, rng)
        if tie is None or len(rank_pairs(*follower)) != 2 * budget - r:
            continue
        a, w = [tie[0], follower[0]], [tie[1], follower[1]]
        if lane_model(a, w, budget, comp, depth)[0] != lane_model(a, w, budget, comp, depth, queue_ties_reversed=True)[0]:
            return [(f"offset tie inside the queued group (ranks {r - 1}, {r}), partly popped", a, w)]
    return []


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
        # A full queue popped once in the last cycle of a multiplication (n < B), then pushed in
        # the first cycle of the next one; and pushes in a window's last cycle then a pop in cycle 0.
        light = fewer_than(budget, wbits, rng)
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
    return cases + fifo_cases(budget, comp, depth, wbits) + queued_tie_cases(budget, comp, depth, wbits)


def expected(a, w, budget: int, comp: int, depth: int, lanes: int) -> int:
    return int(dot(torch.tensor([a], dtype=torch.int64), torch.tensor([w], dtype=torch.int64), budget, comp, depth, lanes)[0])
