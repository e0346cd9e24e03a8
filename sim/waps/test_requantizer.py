"""The requantizer in Amaranth's simulator against ``golden.waps.requantize``: random and extreme
totals, multipliers, biases and shifts, both output ranges, under gaps and back-pressure, with its
latency and throughput asserted."""

import random

import pytest
import torch

from golden.waps import requantize
from hdl.waps import Requantizer
from hdl.waps.layouts import cmd_layout, totals_layout
from sim.unit import collector, send, simulate

OUTPUTS, ACC, MULT, OUT = 3, 12, 8, 4


def _jobs(count, seed):
    rng = random.Random(seed)
    wide = ACC + MULT
    ends = {"t": [-(2 ** (ACC - 1)), 2 ** (ACC - 1) - 1, 0, -1, 1], "m": [-(2 ** (MULT - 1)), 2 ** (MULT - 1) - 1, 0, 1, -1],
            "b": [-(2 ** (wide - 1)), 2 ** (wide - 1) - 1, 0, -1]}

    def pick(key, bits):
        return rng.choice(ends[key]) if rng.random() < 0.3 else rng.randrange(-(2 ** (bits - 1)), 2 ** (bits - 1))

    jobs = []
    for _ in range(count):
        shift = rng.choice([0, 1, wide, wide - 1, rng.randrange(wide + 1)])
        jobs.append({
            "total": [pick("t", ACC) for _ in range(OUTPUTS)],
            "multiplier": [pick("m", MULT) for _ in range(OUTPUTS)],
            "bias": [pick("b", wide) if rng.random() < 0.3 else rng.randrange(-(2 ** min(shift, wide - 1)), 2 ** min(shift, wide - 1))
                     for _ in range(OUTPUTS)],
            "shift": shift, "relu": rng.random() < 0.5,
        })
    return jobs


def _want(job):
    return requantize(torch.tensor(job["total"]), torch.tensor(job["multiplier"]), torch.tensor(job["bias"]),
                      job["shift"], job["relu"], OUT).tolist()


def _run(jobs, gaps, stalls):
    dut = Requantizer(outputs=OUTPUTS, acc_bits=ACC, mult_bits=MULT, out_bits=OUT)
    totals, cmds = totals_layout(OUTPUTS, ACC), cmd_layout(OUTPUTS, ACC, MULT)
    out, taken = [], []

    async def drive_totals(ctx):
        await send(ctx, dut.total, [totals.const(job["total"]) for job in jobs], gaps=gaps, seed=1)

    async def drive_cmds(ctx):
        payloads = [cmds.const({k: job[k] for k in ("multiplier", "bias", "shift")} | {"relu": int(job["relu"])})
                    for job in jobs]
        await send(ctx, dut.cmd, payloads, gaps=gaps, seed=2)
        for _ in range(20 * len(jobs) + 50):
            if len(out) == len(jobs):
                return
            await ctx.tick()
        raise AssertionError(f"{len(jobs)} outputs expected, {len(out)} came")

    async def watch(ctx):
        cycle = 0
        while True:
            _, _, valid, ready = await ctx.tick().sample(dut.total.valid, dut.total.ready)
            if valid and ready:
                taken.append(cycle)
            cycle += 1

    simulate(dut, drive_totals, drive_cmds, background=[collector(dut.out, out, stalls=stalls), watch])
    return out, taken


@pytest.mark.parametrize("gaps,stalls", [(0.0, 0.0), (0.3, 0.4)])
def test_requantizer_exact(gaps, stalls):
    jobs = _jobs(400, seed=int(gaps * 10))
    out, taken = _run(jobs, gaps, stalls)
    for k, (job, (_, payload)) in enumerate(zip(jobs, out)):
        assert [payload[o] for o in range(OUTPUTS)] == _want(job), f"job {k}: {job}"
    if gaps == 0 and stalls == 0:
        cycles = [cycle for cycle, _ in out]
        assert sorted({o - t for o, t in zip(cycles, taken)}) == [Requantizer.LATENCY]
        assert sorted({b - a for a, b in zip(taken, taken[1:])}) == [1]


def test_clamps_by_hand():
    jobs = [{"total": [2047, -2048, 5], "multiplier": [127, 127, -3], "bias": [0, 0, 2], "shift": 0, "relu": False},
            {"total": [2047, -2048, 5], "multiplier": [127, 127, -3], "bias": [0, 0, 2], "shift": 0, "relu": True},
            {"total": [-5, -3, 3], "multiplier": [3, 3, 3], "bias": [2, 2, 2], "shift": 2, "relu": False}]
    out, _ = _run(jobs, 0.0, 0.0)
    got = [[payload[o] for o in range(OUTPUTS)] for _, payload in out]
    assert got == [[7, -8, -8], [15, 0, 0], [-4, -2, 2]]
