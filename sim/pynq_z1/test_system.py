"""pytest entries: the PYNQ-Z1 eDQA system driven by the host driver, on both simulators."""

import pytest

from boards.pynq_z1.system import DESIGN
from sim.harness import run_bench

PARAMS = {"n_bits": 3, "m_extra": 3, "max_length": 4096}


@pytest.mark.parametrize("testcase", ["real_channels_through_the_driver", "end_to_end_latency",
                                      "registers_refuse_what_they_must", "soak"])
def test_system(simulator, testcase, waves):
    result = run_bench(DESIGN, PARAMS, "sim.pynq_z1.tb_system", simulator, testcase=testcase, waves=waves)
    assert result["tests"] == 1
