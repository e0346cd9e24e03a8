"""pytest entries: the WAPS PE (``waps_pe``) and its baseline (``mac_pe``) on both simulators.

The default 16 x 16 PE runs the real ``digits_cnn`` layer (cycle formula asserted) and the
three-group cycle measurement; a small 4 x 3 PE with a 12-bit accumulator runs the corner cases,
random layers, back-pressure and resets (its sums reach the accumulator's ends).
"""

import pytest

from hdl.waps import DESIGNS
from sim.harness import run_bench

DESIGN = {design.name: design for design in DESIGNS}
BENCH = {"waps_pe": "sim.waps.tb_waps_pe", "mac_pe": "sim.waps.tb_mac_pe"}

#: The small PE of the corner cases.
SMALL = {"inputs": 4, "outputs": 3, "w_bits": 4, "a_bits": 4, "n": 4, "acc_bits": 12, "mult_bits": 10, "out_bits": 4}


def _run(name, params, simulator, waves, testcase):
    return run_bench(DESIGN[name], params, BENCH[name], simulator, waves=waves, testcase=testcase)


@pytest.mark.parametrize("name", ["waps_pe", "mac_pe"])
def test_real_layer_16x16(simulator, waves, name):
    result = _run(name, {}, simulator, waves, ["real_network", "three_groups_cycles"])
    assert result["tests"] == 2


@pytest.mark.parametrize("name", ["waps_pe", "mac_pe"])
def test_corners_small(simulator, waves, name):
    result = _run(name, SMALL, simulator, waves, ["corners", "random_layers", "backpressure_and_reset"])
    assert result["tests"] == 3
