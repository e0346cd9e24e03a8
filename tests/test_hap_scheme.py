"""HAPScheme on the tiny network and on digits_cnn: DAR is lossless, the widths are chosen by the
criterion on the calibration inputs, calibration survives prepare, DAR precision is measured."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from golden import quant
from golden.evaluate import quantized
from golden.hap.dar import average_precision, dar
from golden.hap.scheme import HAPScheme, baseline
from golden.hap.weights import channel_sensitivity, eight_bit_count, gram, select_channels
from golden.models import get_network
from tiny_nets import calibrate, outputs, tiny_model

X = torch.randn(3, 2, 5, 5, generator=torch.Generator().manual_seed(7))


@pytest.mark.parametrize("bits, wbits", [(8, 8), (4, 4)])
def test_all_8_or_all_4_bit_equals_the_uniform_baseline(bits, wbits):
    # DAR loses nothing and prepare leaves the calibrated activation parameters as they were
    assert torch.equal(outputs(HAPScheme(bits), X), outputs(baseline(wbits, 8), X))


def float_grams(model, calib):
    """Each layer's input Gram matrix, from hooks on the float model (independent of the scheme)."""
    grams = {}
    layers = {n: m for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}

    def hook(name, mod):
        def f(module, args):
            x = args[0].double()
            if isinstance(mod, nn.Conv2d):
                x = F.unfold(x, mod.kernel_size, padding=mod.padding, stride=mod.stride).transpose(1, 2)
            x = x.reshape(-1, x.shape[-1])
            grams[name] = grams.get(name, 0) + x.T @ x
        return f

    handles = [m.register_forward_pre_hook(hook(n, m)) for n, m in layers.items()]
    calib(model)
    for h in handles:
        h.remove()
    return grams, layers


def test_the_8_bit_channels_are_the_most_sensitive_on_the_calibration_inputs():
    scheme = HAPScheme(6.0)  # half the channels
    qmodel = quant.quantize_model(tiny_model(), scheme, calibrate)
    grams, layers = float_grams(tiny_model(), calibrate)
    emulated = quant.emulated_layers(qmodel)
    for name, mod in layers.items():
        w = mod.weight.detach().reshape(mod.weight.shape[0], -1)
        expected = select_channels(channel_sensitivity(w, grams[name]), 0.5)
        assert torch.equal(scheme.channel_bits[name], expected)
        layer = emulated[name]
        assert layer.mode == "quant" and layer.stats.rows == 8 * (25 if name == "0" else 1)
        for o, b in enumerate(expected.tolist()):
            assert int(layer.w_codes[o].abs().max()) == (2 ** (b - 1) - 1)  # absmax maps to qmax
        assert torch.equal(layer.w_rowsum, layer.w_codes.sum(1))
    assert scheme.measured_weight_bits() == pytest.approx((4 * 18 * 2 + 8 * 18 * 2 + 4 * 100 * 1 + 8 * 100 * 2) / (18 * 4 + 100 * 3))


def test_random_selection_draws_the_same_number_of_8_bit_channels():
    a, b = HAPScheme(4.6, selection="random", seed=0), HAPScheme(4.6, selection="random", seed=1)
    for s in (a, b):
        quant.quantize_model(tiny_model(), s, calibrate)
    assert [int((v == 8).sum()) for v in a.channel_bits.values()] == [eight_bit_count(4, 0.15), eight_bit_count(3, 0.15)]
    assert a.label == "hap[W4.6,G=16,intra,random,seed=0]"


def test_int_dot_is_exact_and_measures_dar_precision():
    scheme = HAPScheme(4.6, group_size=2)
    a = torch.tensor([[0, 255, 7], [1, 255, 7], [200, 0, 9], [200, 3, 9], [5, 5, 5]])  # [N=5, L=3]
    w = torch.tensor([[1, -8, 7], [-128, 127, 0]])
    assert torch.equal(scheme.int_dot(a, w), a @ w.T)
    # columns of Q = a.T, groups of 2 along N: spreads 1,0,0 | 0,3,0 | 0,0,0 (last group single value)
    per_value = (1 * 2 + 0 + 0 + 0 + 2 * 2 + 0 + 0) / 15
    assert average_precision(dar(a.T.contiguous(), group_size=2)) == pytest.approx(per_value)
    assert scheme.average_activation_precision() == pytest.approx({"per_value": per_value, "per_mac": per_value})


def test_measured_precision_needs_data_and_options_are_checked():
    with pytest.raises(RuntimeError, match="no operand matrix seen yet"):
        HAPScheme().average_activation_precision()
    with pytest.raises(ValueError, match="mode must be one of intra, inter"):
        HAPScheme(mode="rows")
    with pytest.raises(ValueError, match="selection must be one of sensitivity, random"):
        HAPScheme(selection="best")
    with pytest.raises(ValueError, match="group_size must be >= 1"):
        HAPScheme(group_size=0)
    with pytest.raises(TypeError, match="group_size must be an int"):
        HAPScheme(group_size=2.0)
    with pytest.raises(ValueError, match="average weight bits must lie in 4..8"):
        HAPScheme(9)


def test_digits_cnn_real_network():
    net = get_network("digits_cnn")
    scheme = HAPScheme(4.6)
    qmodel = quantized(net, scheme)
    for name, bits in scheme.channel_bits.items():
        assert int((bits == 8).sum()) == eight_bit_count(bits.numel(), 0.15), name
    assert 4.5 < scheme.measured_weight_bits() < 4.7
    metrics = net.evaluate(qmodel, limit=128)
    assert metrics["accuracy"] > 0.95
    precision = scheme.average_activation_precision()
    assert 0 < precision["per_mac"] <= precision["per_value"] + 0.5 and precision["per_value"] < 8
    # the accumulators of a layer are the exact sum of W * (q - z) of its 8-bit asymmetric codes
    layer = quant.emulated_layers(qmodel)["block1.a.conv"]
    layer.capture = []
    net.run(qmodel, next(net.sample_batches(1)))
    rec = layer.capture[0]
    exact = (rec["a_codes"] - rec["a_zero_point"]) @ layer.w_codes.T
    assert torch.equal(rec["acc"], exact) and int(rec["a_codes"].min()) >= 0 and int(rec["a_codes"].max()) <= 255


def test_accuracy_study_rows_and_tables():
    from golden.hap.accuracy import GROUP_SIZES, markdown, rows

    table = rows()
    assert [col for col, _ in table.values()] == ["fp32", "8/8", "4/8", "8/4", "5/5", "4.6/4~", "5.6/4~", "4.6/4~ random"]
    schemes = {k: f() for k, (_, f) in table.items() if f is not None}
    assert [(s.wbits, s.abits, s.asymmetric) for s in list(schemes.values())[:4]] == [(8, 8, True), (4, 8, True), (8, 4, True), (5, 5, True)]
    assert schemes["hap4.6"].fraction == 0.15 and schemes["hap5.6"].fraction == 0.4
    assert schemes["hap4.6_random"].selection == "random"
    row = {"metrics": {"accuracy": 0.5, "samples": 2}, "scheme": {"wbits": 8, "abits": 8}}
    hap_row = {**row, "weight_bits": 4.6, "act_precision": {"per_value": 4.25, "per_mac": 4.0}}
    points = [{"group_size": g, "precision": 1.0, "metadata_bits": 12 / g} for g in GROUP_SIZES]
    data = {"models": {"net": {"metric": "accuracy", "samples": 2, "rows": {"8/8": row, "hap4.6": hap_row},
                               "columns": {"8/8": "8/8", "hap4.6": "4.6/4~"}}},
            "precision_vs_group": {"net": {"intra": points, "inter": points}}}
    text = markdown(data)
    assert "| net (accuracy, 2) | 0.5000 | 0.5000 |" in text
    assert "| net | 4.6/4~ | 4.600 | 4.25 / 4.00 | accuracy 0.5000 |" in text
    assert "| net | base + precision | 6.00 | 3.00 |" in text
