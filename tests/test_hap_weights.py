"""HAP dual-precision weights: per-channel quantization, the sensitivity criterion, the channel choice."""

import pytest
import torch

from golden.hap.weights import (
    average_bits,
    channel_sensitivity,
    eight_bit_count,
    fraction_for_average,
    gram,
    quantize_channels,
    rounding_error,
    select_channels,
)
from golden.quant import UniformScheme


def weights(o=6, k=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(o, k, generator=g) * torch.linspace(0.1, 3.0, o)[:, None]


@pytest.mark.parametrize("bits", [4, 8])
def test_uniform_width_equals_the_uniform_baseline(bits):
    w = weights()
    ref = UniformScheme(bits, 8).quantize_weight(w)
    got = quantize_channels(w, bits)
    assert torch.equal(got.codes, ref.codes) and torch.equal(got.scale, ref.scale)


def test_mixed_widths_quantize_each_channel_at_its_own_width():
    w = weights()
    bits = torch.tensor([4, 8, 8, 4, 4, 8])
    got = quantize_channels(w, bits)
    for width in (4, 8):
        ref = UniformScheme(width, 8).quantize_weight(w)
        rows = bits == width
        assert torch.equal(got.codes[rows], ref.codes[rows]) and torch.equal(got.scale[rows], ref.scale[rows])
    assert int(got.codes[bits == 4].abs().max()) <= 8 and int(got.codes[bits == 8].abs().max()) == 127


def test_corners_zero_channel_and_extremes():
    w = torch.tensor([[0.0, 0.0, 0.0, 0.0], [-7.0, 2.5, 3.5, 7.0], [-3.0, 0.0, 0.01, 3.0]])
    got = quantize_channels(w, torch.tensor([4, 4, 8]))
    assert got.codes[0].tolist() == [0, 0, 0, 0] and float(got.scale[0]) == 1.0
    assert got.codes[1].tolist() == [-7, 2, 4, 7]  # scale 1: halves round to even
    assert got.codes[2].tolist() == [-127, 0, 0, 127]


def test_sensitivity_is_the_output_error_energy_on_the_inputs():
    w = weights()
    x = torch.randn(50, 20, generator=torch.Generator().manual_seed(3))
    err = rounding_error(w, 4)
    brute = ((x.double() @ err.T) ** 2).sum(0)
    assert torch.allclose(channel_sensitivity(w, gram(x)), brute, rtol=1e-10)
    # the Gram matrices of batches add up
    assert torch.allclose(gram(x[:20]) + gram(x[20:]), gram(x), rtol=1e-12)


def test_the_criterion_sees_the_inputs_not_only_the_weights():
    # two channels with the same rounding error, on different inputs: the one on the loud input is 8-bit
    w = torch.tensor([[0.6, 0.0, 7.0], [0.0, 0.6, 7.0], [0.0, 0.0, 7.0]])
    x = torch.tensor([[1.0, 10.0, 0.0], [1.0, -10.0, 0.0]])
    s = channel_sensitivity(w, gram(x))
    assert float(s[1]) > float(s[0]) > float(s[2]) == 0.0
    assert select_channels(s, 1 / 3).tolist() == [4, 8, 4]


@pytest.mark.parametrize("channels, fraction, expected", [(16, 0.15, 2), (10, 0.15, 2), (20, 0.15, 3), (10, 0.25, 3),
                                                           (384, 0.15, 58), (384, 0.4, 154), (7, 0.0, 0), (7, 1.0, 7)])
def test_eight_bit_count_rounds_half_up(channels, fraction, expected):
    assert eight_bit_count(channels, fraction) == expected


def test_selection_ties_go_to_the_lower_channel():
    s = torch.tensor([1.0, 5.0, 5.0, 2.0, 5.0])
    assert select_channels(s, 0.4).tolist() == [4, 8, 8, 4, 4]


def test_fraction_for_average_and_average_bits():
    assert fraction_for_average(4.6) == 0.15 and fraction_for_average(5.6) == 0.4
    assert fraction_for_average(4) == 0.0 and fraction_for_average(8) == 1.0
    layers = [(torch.tensor([4, 8]), 10), (torch.tensor([4, 4, 4, 8]), 5)]
    assert average_bits(layers) == (4 * 10 + 8 * 10 + 4 * 15 + 8 * 5) / 40


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="average weight bits must lie in 4..8"):
        fraction_for_average(3.9)
    with pytest.raises(TypeError, match="average must be a number"):
        fraction_for_average("4.6")
    with pytest.raises(ValueError, match="fraction must lie in 0..1"):
        select_channels(torch.ones(3), 1.5)
    with pytest.raises(ValueError, match="every channel width must be one of"):
        quantize_channels(weights(), torch.tensor([4, 8, 6, 4, 4, 4]))
    with pytest.raises(ValueError, match="one width per output channel"):
        quantize_channels(weights(), torch.tensor([4, 8]))
    with pytest.raises(TypeError, match="floating-point"):
        quantize_channels(torch.ones(2, 2, dtype=torch.int64), 4)
    with pytest.raises(ValueError, match="gram_matrix must be"):
        channel_sensitivity(weights(), torch.eye(3))
    with pytest.raises(ValueError, match="no layer given"):
        average_bits([])


def test_rounding_error_is_the_dequantization_error():
    w = torch.tensor([[0.0, 1.0, 7.0, -3.4], [0.0, 0.5, 1.0, -1.0]])  # scales 1 and 1/7 at 4 bits
    err = rounding_error(w, 4)
    assert torch.allclose(err[0], torch.tensor([0.0, 0.0, 0.0, -0.4], dtype=torch.float64), atol=1e-6)
    wq = UniformScheme(4, 8).quantize_weight(w)
    assert torch.equal(err, w.double() - wq.codes.double() * wq.scale.double()[:, None])


def test_codes_agree_with_the_integer_layer_quantizer():
    from golden.hap.layer import quantize_weights

    w, bits = weights(), torch.tensor([8, 4, 4, 8, 4, 8])
    assert torch.equal(quantize_channels(w, bits).codes, quantize_weights(w, bits))
