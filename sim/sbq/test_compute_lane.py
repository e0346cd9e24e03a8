"""pytest entry: the SBQ compute lane on both simulators, several (B, C, D, wbits) sets."""

import pytest

from sim.harness import run_bench

BENCH = "sim.sbq.tb_compute_lane"
FAST = [
    {"budget": 4, "comp": 4, "depth": 4, "wbits": 4},
    {"budget": 2, "comp": 2, "depth": 4, "wbits": 8},
    {"budget": 3, "comp": 1, "depth": 2, "wbits": 8},
]
SLOW = [
    {"budget": 1, "comp": 1, "depth": 1, "wbits": 8},
    {"budget": 4, "comp": 0, "depth": 1, "wbits": 8},
    {"budget": 5, "comp": 3, "depth": 7, "wbits": 4},
    {"budget": 8, "comp": 8, "depth": 16, "wbits": 8},
]


def _id(p):
    return "B{budget}C{comp}D{depth}w{wbits}".format(**p)


@pytest.mark.parametrize("params", FAST, ids=_id)
def test_compute_lane(simulator, params, waves):
    result = run_bench("sbq_lane", params, BENCH, simulator, waves=waves)
    assert result["tests"] == 6


@pytest.mark.slow
@pytest.mark.parametrize("params", SLOW, ids=_id)
def test_compute_lane_more_params(simulator, params, waves):
    result = run_bench("sbq_lane", params, BENCH, simulator, waves=waves, extra_env={"SBQ_LANE_PRODUCTS": "200"})
    assert result["tests"] == 6
