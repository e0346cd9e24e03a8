"""pytest entry: ``hap_array`` on both simulators. Default run: a 4 x 8 array with 24-bit
accumulators (random layers, corners, back-pressure, accumulator wrap, a slice of a real digits_cnn
layer); slow run: the design's default size with the whole real layer and more random layers."""

import pytest

from hdl.hap import DESIGNS
from sim.hap.cases import real_layer
from sim.harness import run_bench

HAP_ARRAY = DESIGNS[0]
SMALL = {"rows": 4, "cols": 8, "acc_bits": 24}


def test_hap_array(simulator, waves):
    real_layer()  # exported before the bench runs (once, shared by the workers)
    result = run_bench(HAP_ARRAY, SMALL, "sim.hap.tb_hap_array", simulator, waves=waves)
    assert result["tests"] == 4


@pytest.mark.slow
def test_hap_array_default_size_full(simulator, waves):
    real_layer()
    result = run_bench(HAP_ARRAY, {}, "sim.hap.tb_hap_array", simulator, waves=waves,
                       extra_env={"QACCEL_HAP_FULL": "1"})
    assert result["tests"] == 4
