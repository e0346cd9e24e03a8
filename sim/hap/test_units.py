# amaranth: UnusedElaboratable=no
"""Unit tests of the HAP array's parts in Amaranth's simulator: the bit-serial PE, the PE array
(an outer product per step, LSB first, back-to-back steps) and the zero-point reuse unit, against
plain integer arithmetic; constructor parameters."""

import random

import pytest

from hdl.hap import BitSerialPE, HapArray, PEArray, TileSequencer, ZeroPointUnit
from sim.hap.cases import wrap
from sim.unit import simulate


def _digit(value: int, low: bool) -> int:
    """The 4-bit pattern of a row's digit (``value`` -8..7, or 0..15 in a low row)."""
    return value & 15


def test_pe_accumulates_and_clears():
    dut = BitSerialPE(acc_bits=16)
    rng = random.Random(1)

    async def tb(ctx):
        total = 0
        for _ in range(300):
            weight, bit, enable = rng.randrange(-1024, 1921), rng.randrange(2), rng.random() < 0.8
            ctx.set(dut.weight, weight)
            ctx.set(dut.bit, bit)
            ctx.set(dut.enable, enable)
            await ctx.tick()
            total = wrap(total + (weight if bit and enable else 0), 16)
            assert ctx.get(dut.acc) == total
        ctx.set(dut.clear, 1)
        await ctx.tick()
        assert ctx.get(dut.acc) == 0

    simulate(dut, tb)


@pytest.mark.parametrize("rows,cols", [(2, 1), (3, 5)])
def test_pe_array_outer_products(rows, cols):
    """Steps of random precisions, each loaded in the last bit cycle of the one before (the
    sequencer's timing), random row kinds: every accumulator equals the sum of digit * residual."""
    dut = PEArray(rows=rows, cols=cols, acc_bits=24)
    rng = random.Random(rows * 10 + cols)

    async def tb(ctx):
        want = [[0] * cols for _ in range(rows)]
        low = [rng.random() < 0.5 for _ in range(rows)]
        pending = None  # (digits, residuals, precision) loaded, bit cycles to run
        for n in range(40):
            p = rng.choice([1, 2, 3, 7, 8])
            digits = [rng.randrange(0, 16) if low[o] else rng.randrange(-8, 8) for o in range(rows)]
            residuals = [rng.randrange(0, 1 << p) for _ in range(cols)]
            # load now (the previous step, if any, runs its last bit cycle in the same cycle)
            ctx.set(dut.load, 1)
            ctx.set(dut.weights, [_digit(d, l) for d, l in zip(digits, low)])
            ctx.set(dut.low, sum(1 << o for o in range(rows) if low[o]))
            ctx.set(dut.residuals, residuals)
            ctx.set(dut.step, pending is not None)
            await ctx.tick()
            ctx.set(dut.load, 0)
            for _ in range(p - 1):
                ctx.set(dut.step, 1)
                await ctx.tick()
            pending = (digits, residuals)
            if n % 7 == 6:  # a pause: the last bit cycle alone, then idle
                ctx.set(dut.step, 1)
                await ctx.tick()
                ctx.set(dut.step, 0)
                await ctx.tick()
                pending = None
            for o in range(rows):
                for c in range(cols):
                    want[o][c] += digits[o] * residuals[c]
            if pending is None:
                got = [[ctx.get(dut.acc[o][c]) for c in range(cols)] for o in range(rows)]
                assert got == want
        ctx.set(dut.step, 1)
        await ctx.tick()
        ctx.set(dut.step, 0)
        await ctx.tick()
        got = [[ctx.get(dut.acc[o][c]) for c in range(cols)] for o in range(rows)]
        assert got == want

    simulate(dut, tb)


def test_zero_point_unit():
    rows = 4
    dut = ZeroPointUnit(rows=rows, cols=2, acc_bits=20)
    rng = random.Random(3)

    async def tb(ctx):
        low = [False, False, True, False]
        want = [0] * rows
        for _ in range(200):
            digits = [rng.randrange(0, 16) if low[o] else rng.randrange(-8, 8) for o in range(rows)]
            base, add = rng.choice([-255, 255, 0, rng.randrange(-255, 256)]), rng.random() < 0.7
            ctx.set(dut.add, add)
            ctx.set(dut.weights, [d & 15 for d in digits])
            ctx.set(dut.low, 0b0100)
            ctx.set(dut.base, base)
            await ctx.tick()
            if add:
                want = [wrap(t + d * base, 20) for t, d in zip(want, digits)]
            assert [ctx.get(dut.terms[o]) for o in range(rows)] == want
        ctx.set(dut.clear, 1)
        await ctx.tick()
        assert [ctx.get(dut.terms[o]) for o in range(rows)] == [0] * rows

    simulate(dut, tb)


@pytest.mark.parametrize("cls", [HapArray, PEArray, ZeroPointUnit, TileSequencer])
@pytest.mark.parametrize("kwargs,error,match", [
    ({"rows": 1}, ValueError, "rows must be in 2..64"),
    ({"cols": 0}, ValueError, "cols must be in 1..64"),
    ({"acc_bits": 8}, ValueError, "acc_bits must be in 16..64"),
    ({"rows": 4.0}, TypeError, "rows must be an integer"),
    ({"cols": True}, TypeError, "cols must be an integer"),
])
def test_parameters(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)
