# amaranth: UnusedElaboratable=no
"""The plain MAC array (the SBQ cost baseline) in Amaranth's simulator: exact inner products against
Python's integer dot, random lengths (0, below, at and above multiples of ``lanes``), gaps and
result back-pressure, the cycle of every result without them, and the largest sums at ``L = 65535``."""

import math
import random

import pytest

from hdl.sbq.mac_array import LATENCY, MAX_LENGTH, MacArray, mac_layout, result_width
from sim.unit import collector, send, simulate


def _jobs(lanes, wbits, count, rng):
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
    lengths = [0, 1, lanes - 1, lanes, lanes + 1, 2 * lanes, 0] + [rng.randrange(0, 5 * lanes) for _ in range(count)]
    jobs = []
    for n, length in enumerate(lengths):
        if n % 4 == 3:  # extremes only
            a = [rng.choice((-128, 127, 0, -1)) for _ in range(length)]
            w = [rng.choice((lo, hi, 0, -1)) for _ in range(length)]
        else:
            a = [rng.randrange(-128, 128) for _ in range(length)]
            w = [rng.randint(lo, hi) for _ in range(length)]
        jobs.append((a, w))
    return jobs


def _transfers(dut, a, w, rng):
    """The ``data`` payloads of one inner product; slots past ``L`` carry junk (they must be ignored)."""
    layout, lanes = mac_layout(dut.lanes, dut.wbits), dut.lanes
    lo, hi = -(1 << (dut.wbits - 1)), (1 << (dut.wbits - 1)) - 1
    out, made = [], {}
    for start in range(0, len(a), lanes):
        chunk_a, chunk_w = a[start:start + lanes], w[start:start + lanes]
        junk = lanes - len(chunk_a)
        chunk_a = chunk_a + [rng.randrange(-128, 128) for _ in range(junk)]
        chunk_w = chunk_w + [rng.randint(lo, hi) for _ in range(junk)]
        key = (tuple(chunk_a), tuple(chunk_w))
        if key not in made:
            made[key] = layout.const({"a": chunk_a, "w": chunk_w})
        out.append(made[key])
    return out


def run(dut, jobs, *, gaps=0.0, stalls=0.0, seed=0):
    """Results ``(cycle, value)`` of ``jobs`` (``(a, w)`` lists) through ``dut``."""
    rng = random.Random(seed)
    payloads = [p for a, w in jobs for p in _transfers(dut, a, w, rng)]
    results = []

    async def commands(ctx):
        await send(ctx, dut.cmd, [len(a) for a, _ in jobs], gaps=gaps, seed=seed + 1)

    async def data(ctx):
        await send(ctx, dut.data, payloads, gaps=gaps, seed=seed + 2)

    async def wait(ctx):
        for _ in range(20_000):
            if len(results) == len(jobs):
                return
            await ctx.tick()
        raise AssertionError(f"{len(results)} of {len(jobs)} results")

    simulate(dut, commands, data, wait, background=[collector(dut.result, results, stalls=stalls, seed=seed + 3)])
    return results


def _signed(value, width):
    """``value`` as a signed ``width``-bit integer (the simulator gives signed payloads signed already)."""
    value = int(value)
    return value - (1 << width) if value >= 1 << (width - 1) else value


@pytest.mark.parametrize("lanes, wbits", [(16, 4), (16, 8), (3, 8), (1, 4)])
@pytest.mark.parametrize("gaps, stalls", [(0.0, 0.0), (0.3, 0.4)])
def test_exact_inner_products(lanes, wbits, gaps, stalls):
    rng = random.Random(lanes * 10 + wbits)
    dut = MacArray(lanes=lanes, wbits=wbits)
    jobs = _jobs(lanes, wbits, 25, rng)
    results = run(dut, jobs, gaps=gaps, stalls=stalls, seed=lanes + wbits)
    got = [_signed(value, dut.width) for _, value in results]
    assert got == [sum(x * y for x, y in zip(a, w)) for a, w in jobs]
    if gaps == 0 and stalls == 0:  # one command cycle, ceil(L / lanes) transfers, result LATENCY later
        cycle, expected = 0, []
        for a, _ in jobs:
            transfers = math.ceil(len(a) / lanes)
            expected.append(cycle + transfers + LATENCY)
            cycle += 1 + transfers
        assert [c for c, _ in results] == expected


@pytest.mark.parametrize("wbits", [4, 8])
def test_largest_sums_at_the_longest_length(wbits):
    dut = MacArray(lanes=64, wbits=wbits)  # the widths do not depend on lanes; 64 is the fastest here
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
    jobs = [([-128] * MAX_LENGTH, [lo] * MAX_LENGTH), ([-128] * MAX_LENGTH, [hi] * MAX_LENGTH)]
    got = [_signed(value, dut.width) for _, value in run(dut, jobs)]
    assert got == [MAX_LENGTH * 128 * -lo, -MAX_LENGTH * 128 * hi]
    assert dut.width == result_width(wbits) == {4: 27, 8: 31}[wbits]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"lanes": 0}, ValueError, "lanes must be in 1..64, got 0"),
    ({"lanes": 65}, ValueError, "lanes must be in 1..64, got 65"),
    ({"wbits": 2}, ValueError, "wbits must be one of 4, 8, got 2"),
    ({"lanes": 2.0}, TypeError, "lanes must be an integer"),
])
def test_parameters_are_validated(kwargs, error, message):
    with pytest.raises(error) as raised:
        MacArray(**kwargs)
    assert str(raised.value).startswith(message)
