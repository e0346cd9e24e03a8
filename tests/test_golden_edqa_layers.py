"""eDQA at the layer level: the activation-only path of the harness, Algorithms 1-2 on a layer
(important channels, Direct and N+m limits), and the baselines PoT and NoisyQuant."""

import math

import pytest
import torch
from torch import nn

from golden import quant, schemes
from golden.edqa import SCHEMES, layer
from golden.edqa.baselines import DirectScheme, NoisyQuantScheme, pot_fake_quant, pot_levels
from golden.edqa.model import dequantize_channel, quantize_channel
from golden.edqa.scheme import EDQAScheme


class Tiny(nn.Module):
    """A conv, a ReLU and two Linears: both kinds of emulated layer."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        h = torch.relu(self.conv(x)).mean((2, 3))
        return self.fc2(torch.relu(self.fc1(h)))


def _data(seed=1, n=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 5, 5, generator=g) * torch.tensor([1.0, 4.0, 0.3])[None, :, None, None]


def _quantized(scheme, model=None):
    model = model or Tiny().eval()
    return quant.quantize_model(model, scheme, lambda m: m(_data()))


def test_important_count_rounds_half_up_exactly():
    assert layer.important_count(16, 0.4) == 6  # 6.4
    assert layer.important_count(32, 0.4) == 13  # 12.8
    assert layer.important_count(384, 0.4) == 154  # 153.6
    assert layer.important_count(10, 0.25) == 3  # 2.5: halves up
    assert layer.important_count(10, 0.35) == 4  # 3.5 exactly, although 0.35 * 10 is 3.4999999999999996 in binary
    assert layer.important_count(1, 0.4) == 0 and layer.important_count(1, 0.5) == 1
    assert layer.important_count(7, 0) == 0 and layer.important_count(7, 1) == 7
    for bad in (-0.1, 1.5, "0.4", True):
        with pytest.raises(ValueError):
            layer.important_count(8, bad)


def test_important_mask_takes_the_head_of_the_ranking():
    mask = layer.important_mask([3, 0, 2, 1], 4, 0.5)
    assert mask.tolist() == [True, False, False, True]
    with pytest.raises(ValueError):
        layer.important_mask([0, 1, 1, 3], 4, 0.5)


def test_activation_only_path_keeps_float_weights_and_dequantizes_inputs():
    model = Tiny().eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    q = _quantized(DirectScheme(3), model)
    layers = quant.emulated_layers(q)
    assert set(layers) == {"conv", "fc1", "fc2"}
    for name, em in layers.items():
        assert not hasattr(em, "w_codes")  # no integer weights
        assert torch.equal(em.float_layer.weight, weights[f"{name}.weight"])
        em.capture = []
    x = _data(seed=2, n=3) * 1.5  # beyond the calibration range: clamps
    y = q(x)
    conv, fc1, fc2 = (layers[n].capture[0] for n in ("conv", "fc1", "fc2"))
    for name, cap in (("conv", conv), ("fc1", fc1), ("fc2", fc2)):
        absmax = layers[name].params.extra["absmax"]
        assert torch.equal(cap["x_deq"], layer.direct_fake_quant(cap["x"], 3, absmax))
        assert cap["x_deq"].unique().numel() <= 8  # 3-bit levels
    # the conv input is channels-last [pixels, C]; the layer computes conv(x_deq) with the float weights
    assert torch.equal(conv["x"], x.permute(0, 2, 3, 1).reshape(-1, 3))
    x_deq = conv["x_deq"].reshape(3, 5, 5, 3).permute(0, 3, 1, 2)
    h = torch.relu(model.conv(x_deq)).mean((2, 3))
    assert torch.equal(fc1["x"], h)
    assert torch.equal(y, model.fc2(fc2["x_deq"]))
    assert torch.equal(fc2["x"], torch.relu(model.fc1(fc1["x_deq"])))


def test_absmax_is_the_static_calibrated_maximum_per_layer():
    q = _quantized(DirectScheme(4))
    conv = quant.emulated_layers(q)["conv"]
    assert conv.params.extra["absmax"] == float(_data().abs().max())
    assert conv.params.extra["channels"] == 3
    assert conv.params.scale == conv.params.extra["absmax"] / 8


def test_edqa_with_ratio_zero_is_direct_exactly():
    x = _data(seed=3)
    assert torch.equal(_quantized(EDQAScheme(3, 3, 0.0))(x), _quantized(DirectScheme(3))(x))


@pytest.mark.parametrize("n,m", [(3, 3), (3, 1), (4, 2), (5, 3)])
def test_edqa_with_every_channel_important_is_direct_at_n_plus_m(n, m):
    x = _data(seed=4)
    assert torch.equal(_quantized(EDQAScheme(n, m, 1.0))(x), _quantized(DirectScheme(n + m))(x))


def test_edqa_layer_is_the_channel_semantics():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(40, 6, generator=g) * 2
    mask = torch.tensor([True, False, True, False, False, True])
    absmax = 3.5
    got = layer.edqa_fake_quant(x, mask, 3, 2, absmax)
    for c in range(6):
        q, se = quantize_channel(x[:, c], 3, 2, absmax, bool(mask[c]))
        assert torch.equal(got[:, c], dequantize_channel(q, se, 3, 2, absmax, bool(mask[c])))


def test_edqa_scheme_uses_the_head_of_a_given_ranking():
    ranking = {"conv": [2, 0, 1], "fc1": list(range(6))[::-1], "fc2": list(range(8))}
    q = _quantized(EDQAScheme(3, 3, 0.4, ranking=ranking))
    layers = quant.emulated_layers(q)
    assert layers["conv"].params.extra["important"].tolist() == [False, False, True]  # 1.2 -> 1
    assert layers["fc1"].params.extra["important"].tolist() == [False] * 4 + [True] * 2  # 2.4 -> 2
    assert layers["fc2"].params.extra["important"].nonzero().flatten().tolist() == [0, 1, 2]  # 3.2 -> 3
    x = _data(seed=6)
    assert not torch.equal(q(x), _quantized(DirectScheme(3))(x))
    with pytest.raises(ValueError, match="needs a channel ranking"):
        _quantized(EDQAScheme(3, 3, 0.4))  # no ranking and no golden.models network to rank


def test_schemes_table_and_registry():
    assert set(SCHEMES) == {"edqa", "edqa-direct", "edqa-pot", "edqa-noisyquant"}
    for name, factory in SCHEMES.items():
        s = factory(n_bits=4)
        assert s.act_only and s.n_bits == 4 and s.config()["weights"] == "float32"
    assert SCHEMES["edqa"](n_bits=3, m_extra=2, ratio=0.5).label == "edqa[N=3,m=2,r=0.5]"
    schemes.register_scheme("edqa-test-direct", SCHEMES["edqa-direct"])
    assert schemes.get_scheme("edqa-test-direct", n_bits=5).label == "direct[N=5]"
    with pytest.raises(ValueError):
        EDQAScheme(3, 4, 0.4)  # m > N
    with pytest.raises(ValueError):
        DirectScheme(1)


def test_pot_levels_and_log_domain_rounding():
    assert pot_levels(3) == [0.0, 0.25, 0.5, 1.0]
    assert pot_levels(4, 2.0) == [0.0] + [2.0 * 2.0**-j for j in range(6, -1, -1)]
    assert len(pot_levels(5)) == 16 and pot_levels(5)[1] == 2.0**-14
    x = torch.tensor([[0.0, 0.17, 0.18, 0.3, 0.36, 0.7, 0.71, 2.0, -0.6, -0.36]])
    # s = 0.5, levels 0.25, 0.5, 1; zero below 0.25 / sqrt(2) = 0.177; 0.36 -> 0.5 in the log domain
    # (0.25 in the linear one); 0.7 -> 0.5, 0.71 -> 1 (boundary 0.5 * sqrt(2) = 0.7071)
    expect = [0.0, 0.0, 0.25, 0.25, 0.5, 0.5, 1.0, 1.0, -0.5, -0.5]
    assert pot_fake_quant(x, 3, 1.0).tolist() == [expect]


@pytest.mark.parametrize("n", [3, 4, 5])
def test_pot_gives_only_levels_nearest_in_the_log_domain(n):
    g = torch.Generator().manual_seed(n)
    x = torch.randn(200, 7, generator=g) * torch.logspace(-3, 0, 7)
    absmax = float(x.abs().max())
    out = pot_fake_quant(x, n, absmax)
    levels = torch.tensor(pot_levels(n, absmax), dtype=torch.float32)
    assert torch.isin(out.abs(), levels).all()
    assert (torch.sign(out) * torch.sign(x) >= 0).all()
    nz = out != 0
    assert ((torch.log2(out[nz].abs().double()) - torch.log2(x[nz].abs().double())).abs() <= 0.5 + 1e-9).all()
    smallest = levels[1].double()
    assert (x[~nz].abs().double() < smallest * 2**-0.5).all()


def test_noisyquant_without_search_is_direct():
    x = _data(seed=7)
    assert torch.equal(_quantized(NoisyQuantScheme(3, search=False))(x), _quantized(DirectScheme(3))(x))


def test_noisyquant_search_lowers_the_calibration_error_and_removes_its_bias():
    torch.manual_seed(8)
    lin = nn.Linear(32, 16)
    x = torch.randn(512, 32) * torch.linspace(0.2, 1, 32)
    x[0, 3] = 20.0  # one outlier sets absmax: clipping pays
    model = nn.Sequential(lin)
    direct = quant.quantize_model(model, DirectScheme(3), lambda m: m(x))
    noisy = quant.quantize_model(model, NoisyQuantScheme(3, clip_steps=40, mean_steps=8, range_steps=8), lambda m: m(x))
    em = quant.emulated_layers(noisy)["0"]
    extra = em.params.extra
    assert extra["clip"] < extra["absmax"]
    with torch.no_grad():
        ref = lin(x)
        assert float(((noisy(x) - ref) ** 2).mean()) < float(((direct(x) - ref) ** 2).mean())
        em.capture = []
        noisy(x)
    cap = em.capture[0]
    bias = extra["bias"] if extra["bias"] is not None else torch.zeros(32)
    expect = layer.direct_fake_quant(x + bias, 3, extra["clip"]) - bias
    assert torch.equal(cap["x_deq"], expect)


def test_quantization_error_is_tracked_per_layer():
    scheme = DirectScheme(3)
    q = _quantized(scheme)
    scheme.track_error = True
    for em in quant.emulated_layers(q).values():
        em.capture = []
    q(_data(seed=9))
    err = layer.quantization_error(q)
    caps = {n: em.capture[0] for n, em in quant.emulated_layers(q).items()}
    conv = caps["conv"]
    expect = float((conv["x_deq"].double() - conv["x"].double()).norm() / conv["x"].double().norm())
    assert math.isclose(err["layers"]["conv"], expect, rel_tol=1e-9)
    assert 0 < err["pooled"] < 1 and set(err["layers"]) == {"conv", "fc1", "fc2"}
