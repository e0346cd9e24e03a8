"""pytest entry: the SBQ term encoder on both simulators, both operand widths."""

import pytest

from sim.harness import run_bench


@pytest.mark.parametrize("bits", [4, 8])
def test_term_encoder_exhaustive(simulator, bits, waves):
    result = run_bench("sbq_encoder", {"bits": bits}, "sim.sbq.tb_term_encoder", simulator, waves=waves)
    assert result["tests"] == 1
