"""The SBQ term queue in Amaranth's simulator against a first-in first-out reference (a deque with
the lane's rules: a push is dropped when the queue is full, also while it is popped in the same
cycle; ``clear`` empties it and discards that cycle's push and pop)."""

import random
from collections import deque

import pytest

from hdl.sbq import TermQueue
from hdl.sbq.term_generator import PairLayout
from sim.unit import simulate


@pytest.mark.parametrize("depth", [1, 2, 4, 7])
def test_queue_against_a_reference_fifo(depth):
    rng = random.Random(depth)
    dut = TermQueue(depth=depth)
    reference: deque[int] = deque()
    wrong = []
    counts = {"push": 0, "dropped": 0, "pop": 0, "clear": 0, "full": 0}

    async def bench(ctx):
        for cycle in range(3000):
            # Phases of mostly pushes and mostly pops, so that the queue runs full and empty.
            pushy = (cycle // 40) % 2 == 0
            push = rng.random() < (0.8 if pushy else 0.3)
            pop = rng.random() < (0.3 if pushy else 0.8)
            clear = rng.random() < 0.01
            entry = rng.randrange(1 << PairLayout.size)
            ctx.set(dut.w_data, PairLayout.from_bits(entry))
            ctx.set(dut.w_en, push)
            ctx.set(dut.r_en, pop)
            ctx.set(dut.clear, clear)
            level = len(reference)
            state = (ctx.get(dut.level), ctx.get(dut.w_rdy), ctx.get(dut.r_rdy))
            if state != (level, level < depth, level > 0):
                wrong.append((cycle, "level/w_rdy/r_rdy", state, level))
            if level and ctx.get(dut.r_data).as_value().value != reference[0]:
                wrong.append((cycle, "r_data", ctx.get(dut.r_data), reference[0]))
            await ctx.tick()
            counts["full"] += level == depth
            if clear:
                reference.clear()
                counts["clear"] += 1
                continue
            if pop and level:
                reference.popleft()
                counts["pop"] += 1
            if push and level < depth:
                reference.append(entry)
                counts["push"] += 1
            counts["dropped"] += push and level == depth

    simulate(dut, bench)
    assert not wrong, f"{len(wrong)} mismatches; first: {wrong[:3]}"
    assert min(counts.values()) > 0, counts  # every case happened: pushes, drops when full, pops, clears
