"""cocotb testbench of both PE designs: `waps_pe` bit-exact against ``golden.waps.forward``, and its
baseline `mac_pe` against the same model with every group scale 1. Which one runs is read from the
toplevel's name; the tests themselves are in :mod:`sim.waps.bench`."""

import cocotb

from sim.waps import bench

#: Toplevel name -> whether the design scales groups (WAPS) or not (the baseline).
GROUPED = {"waps_pe": True, "mac_pe": False}


def _grouped(dut) -> bool:
    if dut._name not in GROUPED:
        raise ValueError(f"toplevel {dut._name!r} is not a WAPS PE design ({', '.join(GROUPED)})")
    return GROUPED[dut._name]


@cocotb.test()
async def real_network(dut):
    await bench.real_network(dut, _grouped(dut))


@cocotb.test()
async def corners(dut):
    await bench.corners(dut, _grouped(dut))


@cocotb.test()
async def random_layers(dut):
    await bench.random_layers(dut, _grouped(dut))


@cocotb.test()
async def backpressure_and_reset(dut):
    await bench.backpressure_and_reset(dut, _grouped(dut))


@cocotb.test()
async def three_groups_cycles(dut):
    await bench.three_groups_cycles(dut, _grouped(dut))
