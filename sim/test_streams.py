"""The shared stream tools (``sim/streams.py``) on both simulators: the scoreboard fails on a wrong,
extra, missing and late transfer; pause generators throttle sources and sinks."""

import pytest

from sim.harness import run_bench


@pytest.mark.parametrize("budget", [2, 4])
def test_stream_tools(simulator, budget, waves):
    params = {"budget": budget, "comp": budget, "depth": 4, "wbits": 4}
    result = run_bench("sbq_lane", params, "sim.tb_streams_selftest", simulator, waves=waves)
    assert result["tests"] == 6
