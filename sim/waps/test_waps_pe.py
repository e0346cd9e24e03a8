"""pytest entries: the WAPS PE (``waps_pe``) and its baseline (``mac_pe``) on both simulators.

Default run: the 16 x 16 WAPS PE on a calibrated ``digits_cnn`` layer with real activations (cycle
formula asserted), and a small 4 x 3 PE of each design with a 12-bit accumulator on the corner
cases, random layers, back-pressure and resets (its sums reach the accumulator's ends). Slow: the
16 x 16 baseline on the real layer and the three-group cycle measurement of both
(``python -m bench.waps.overhead`` runs that one too).
"""

import pytest

from hdl.waps import DESIGNS
from sim.harness import run_bench
from sim.waps import BENCHES as BENCH

DESIGN = {design.name: design for design in DESIGNS}

#: The small PE of the corner cases.
SMALL = {"inputs": 4, "outputs": 3, "w_bits": 4, "a_bits": 4, "n": 4, "acc_bits": 12, "mult_bits": 10, "out_bits": 4}


def _run(name, params, simulator, waves, testcase):
    return run_bench(DESIGN[name], params, BENCH[name], simulator, waves=waves, testcase=testcase)


def test_real_layer_16x16(simulator, waves):
    assert _run("waps_pe", {}, simulator, waves, ["real_network"])["tests"] == 1


@pytest.mark.parametrize("name", ["waps_pe", "mac_pe"])
def test_corners_small(simulator, waves, name):
    result = _run(name, SMALL, simulator, waves, ["corners", "random_layers", "backpressure_and_reset"])
    assert result["tests"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("name", ["waps_pe", "mac_pe"])
def test_16x16_real_layer_and_three_groups(simulator, waves, name):
    assert _run(name, {}, simulator, waves, ["real_network", "three_groups_cycles"])["tests"] == 2
