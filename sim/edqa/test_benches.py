"""pytest entries: the eDQA de-quantizer, Huffman encoder and decoder, and the whole core, on both
simulators (the quantizer has its own file). Real activations of both networks drive the encoder and
the core."""

import pytest

from sim.edqa.cases import real_activation_files
from sim.harness import run_bench


def _real():
    """Export the real activations before the bench runs (once, shared by the workers)."""
    real_activation_files()
    return {}


@pytest.mark.parametrize("params", [{"n_bits": 3, "m_extra": 3, "max_length": 4096}, {"n_bits": 8, "m_extra": 1, "max_length": 200}],
                         ids=["N3m3", "N8m1"])
def test_dequantizer(simulator, params, waves):
    assert run_bench("edqa_dequantizer", params, "sim.edqa.tb_dequantizer", simulator, waves=waves)["tests"] == 3


@pytest.mark.parametrize("m_extra", [3, 1])
def test_huffman_encoder(simulator, m_extra, waves):
    params = {"m_extra": m_extra, "max_length": 4096 if m_extra == 3 else 300}
    result = run_bench("edqa_huffman_encoder", params, "sim.edqa.tb_huffman_encoder", simulator, waves=waves, extra_env=_real())
    assert result["tests"] == 4


@pytest.mark.parametrize("m_extra", [3, 2])
def test_huffman_decoder(simulator, m_extra, waves):
    params = {"m_extra": m_extra, "max_length": 4096 if m_extra == 3 else 300}
    assert run_bench("edqa_huffman_decoder", params, "sim.edqa.tb_huffman_decoder", simulator, waves=waves)["tests"] == 3


def test_core(simulator, waves):
    """The default core (N = 3, m = 3, 4096): real round trips, a damaged packet, the latency figures,
    a reset mid-channel."""
    result = run_bench("edqa", {"n_bits": 3, "m_extra": 3, "max_length": 4096}, "sim.edqa.tb_core", simulator,
                       waves=waves, extra_env=_real())
    assert result["tests"] == 4
