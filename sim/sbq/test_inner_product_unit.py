"""pytest entry: the SBQ inner product unit on both simulators, several parameter sets."""

import pytest

from sim.harness import run_bench

BENCH = "sim.sbq.tb_inner_product_unit"
FAST = [
    {"lanes": 4, "budget": 4, "comp": 4, "depth": 4, "wbits": 4},
    {"lanes": 3, "budget": 3, "comp": 1, "depth": 2, "wbits": 8},
]
SLOW = [
    {"lanes": 4, "budget": 2, "comp": 2, "depth": 4, "wbits": 8},
    {"lanes": 16, "budget": 4, "comp": 4, "depth": 4, "wbits": 4},
    {"lanes": 16, "budget": 4, "comp": 4, "depth": 4, "wbits": 8},
    {"lanes": 1, "budget": 1, "comp": 1, "depth": 1, "wbits": 8},
    {"lanes": 5, "budget": 5, "comp": 0, "depth": 3, "wbits": 4},
]


def _id(p):
    return "lanes{lanes}B{budget}C{comp}D{depth}w{wbits}".format(**p)


@pytest.mark.parametrize("params", FAST, ids=_id)
def test_inner_product_unit(simulator, params, waves):
    result = run_bench("sbq_ipu", params, BENCH, simulator, waves=waves)
    assert result["tests"] == 5


@pytest.mark.slow
@pytest.mark.parametrize("params", SLOW, ids=_id)
def test_inner_product_unit_more_params(simulator, params, waves):
    result = run_bench("sbq_ipu", params, BENCH, simulator, waves=waves, extra_env={"SBQ_IPU_PRODUCTS": "100"})
    assert result["tests"] == 5
