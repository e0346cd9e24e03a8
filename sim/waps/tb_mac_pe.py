"""cocotb testbench: `mac_pe` bit-exact against ``golden.waps.forward`` with every group scale 1 (the
baseline PE has no WAPS); the tests themselves are in :mod:`sim.waps.bench`."""

import cocotb

from sim.waps import bench

GROUPED = False


@cocotb.test()
async def real_network(dut):
    await bench.real_network(dut, GROUPED)


@cocotb.test()
async def corners(dut):
    await bench.corners(dut, GROUPED)


@cocotb.test()
async def random_layers(dut):
    await bench.random_layers(dut, GROUPED)


@cocotb.test()
async def backpressure_and_reset(dut):
    await bench.backpressure_and_reset(dut, GROUPED)


@cocotb.test()
async def three_groups_cycles(dut):
    await bench.three_groups_cycles(dut, GROUPED)
