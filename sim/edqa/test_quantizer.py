"""pytest entry: the eDQA quantizer on both simulators (real activations of both networks included)."""

import pytest

from sim.edqa.cases import real_activation_files
from sim.harness import run_bench

PARAMS = [
    {"n_bits": 3, "m_extra": 3, "max_length": 4096},
    {"n_bits": 5, "m_extra": 2, "max_length": 300},
]


def _id(p):
    return "N{n_bits}m{m_extra}L{max_length}".format(**p)


@pytest.mark.parametrize("params", PARAMS, ids=_id)
def test_quantizer(simulator, params, waves):
    real_activation_files()  # exported before the bench runs (once, shared by the workers)
    result = run_bench("edqa_quantizer", params, "sim.edqa.tb_quantizer", simulator, waves=waves)
    assert result["tests"] == 5
