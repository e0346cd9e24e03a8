"""cocotb testbench of both PE designs: `waps_pe` bit-exact against ``golden.waps.forward``, and its
baseline `mac_pe` against the same model with every group scale 1. Which one runs is read from the
toplevel's name; the tests themselves are in :mod:`sim.waps.bench`, each taking ``grouped``."""

import cocotb

from sim.waps import bench

#: Toplevel name -> whether the design scales groups (WAPS) or not (the baseline).
GROUPED = {"waps_pe": True, "mac_pe": False}


def _grouped(dut) -> bool:
    if dut._name not in GROUPED:
        raise ValueError(f"toplevel {dut._name!r} is not a WAPS PE design ({', '.join(GROUPED)})")
    return GROUPED[dut._name]


def _test(body):
    """The cocotb test ``body.__name__``: ``body(dut, grouped)`` for the design under test."""
    async def run(dut):
        await body(dut, _grouped(dut))
    return cocotb.test(name=body.__name__)(run)


real_network = _test(bench.real_network)
corners = _test(bench.corners)
random_layers = _test(bench.random_layers)
backpressure_and_reset = _test(bench.backpressure_and_reset)
three_groups_cycles = _test(bench.three_groups_cycles)
