"""The fixed shifter and 3-to-1 multiplexer (``GroupScaler``) in Amaranth's simulator: every value of
a 9-bit partial sum at every select and three shifts, against ``golden.waps.scale_sum``."""

import pytest
import torch

from golden.waps import SELECTS, scale_sum
from hdl.waps import GroupScaler
from sim.unit import simulate


@pytest.mark.parametrize("n", [1, 4, 7])
def test_every_value_every_select(n):
    width = 9
    dut = GroupScaler(width=width, n=n)
    values = list(range(-(2 ** (width - 1)), 2 ** (width - 1)))
    got = {select: [] for select in (*SELECTS, 3)}

    async def bench(ctx):
        for select in got:
            ctx.set(dut.select, select)
            for value in values:
                ctx.set(dut.value, value)
                got[select].append(ctx.get(dut.scaled))

    simulate(dut, bench, clocked=False)
    s = torch.tensor(values)
    for select in SELECTS:
        assert got[select] == scale_sum(s, select, n).tolist(), f"select {select}"
    assert got[3] == values  # select 3 acts as 0 (scale 1)


def test_negative_sums_floor_by_hand():
    dut = GroupScaler(width=8, n=4)
    cases = [(-1, 1, 0), (-1, 2, -2), (-16, 1, -15), (-17, 1, -15), (-17, 2, -19), (-128, 2, -136), (127, 2, 134)]
    got = []

    async def bench(ctx):
        for value, select, _ in cases:
            ctx.set(dut.value, value)
            ctx.set(dut.select, select)
            got.append(ctx.get(dut.scaled))

    simulate(dut, bench, clocked=False)
    assert got == [want for _, _, want in cases]
