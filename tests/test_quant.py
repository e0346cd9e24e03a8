"""The quantization plumbing on small random layers: codes, exact integer accumulation, the hook;
the scheme registry and its collection of the accelerators' schemes."""

import importlib
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

from int_reference import np_conv

import qaccel
from golden import quant, schemes


def _calibrated(layer: nn.Module, scheme: quant.Scheme, x: torch.Tensor):
    wrapper = nn.Sequential(layer)
    return quant.quantize_model(wrapper, scheme, lambda m: m(x))


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_weight_codes_per_channel(bits):
    torch.manual_seed(0)
    w = torch.randn(16, 40) * torch.rand(16, 1) * 3
    wq = quant.UniformScheme(wbits=bits).quantize_weight(w)
    assert wq.codes.dtype == torch.int64 and wq.scale.shape == (16,)
    qmax = 2 ** (bits - 1) - 1
    assert int(wq.codes.min()) >= -qmax - 1 and int(wq.codes.max()) <= qmax
    assert (wq.codes.abs().amax(1) == qmax).all()  # each channel's absmax maps to qmax
    err = (wq.codes * wq.scale[:, None] - w).abs()
    assert (err <= wq.scale[:, None] / 2 * (1 + 1e-5)).all()


@pytest.mark.parametrize("asym", [False, True])
@pytest.mark.parametrize("wbits,abits", [(8, 8), (4, 8), (4, 4), (2, 2)])
def test_linear_exact_integer_accumulation(wbits, abits, asym):
    torch.manual_seed(1)
    lin = nn.Linear(24, 7)
    x_cal = torch.randn(50, 24) + (1.5 if asym else 0.0)
    q = _calibrated(lin, quant.UniformScheme(wbits, abits, asym), x_cal)
    layer = quant.emulated_layers(q)["0"]
    layer.capture = []
    x = torch.randn(3, 5, 24) * 1.3 + (1.5 if asym else 0.0)  # beyond the calibration range: clamping
    y = q(x)
    cap = layer.capture[0]
    a, acc, z = cap["a_codes"].numpy(), cap["acc"].numpy(), int(cap["a_zero_point"])
    if asym:
        assert a.min() >= 0 and a.max() <= 2**abits - 1 and 0 <= z <= 2**abits - 1
    else:
        assert z == 0 and a.min() >= -(2 ** (abits - 1)) and a.max() <= 2 ** (abits - 1) - 1
    w = layer.w_codes.numpy()
    expect = np.array([[sum((int(a[n, l]) - z) * int(w[o, l]) for l in range(24)) for o in range(7)] for n in range(15)])
    assert np.array_equal(acc, expect)
    deq = torch.from_numpy(expect).double() * (cap["a_scale"].double() * layer.w_scale.double())
    assert torch.equal(y.reshape(15, 7), deq.float() + lin.bias.detach())


@pytest.mark.parametrize("asym", [False, True])
@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 1, 1), (1, 2, 2), (2, 0, 1)])
def test_conv_goes_through_im2col_exactly(stride, padding, dilation, asym):
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 5, 3, stride=stride, padding=padding, dilation=dilation)
    x_cal = torch.randn(4, 3, 9, 9) + (1.0 if asym else 0.0)
    q = _calibrated(conv, quant.UniformScheme(4, 8, asym), x_cal)
    layer = quant.emulated_layers(q)["0"]
    layer.capture = []
    x = torch.randn(2, 3, 9, 9) + (1.0 if asym else 0.0)
    y = q(x)
    cap = layer.capture[0]
    z = int(cap["a_zero_point"])
    w = layer.w_codes.numpy().reshape(conv.weight.shape)
    expect = np_conv(cap["a_fmap"].numpy(), w, conv.stride, conv.padding, conv.dilation, z)
    expect -= z * w.reshape(5, -1).sum(1)[None, :, None, None]
    got = cap["acc"].numpy().reshape(2, expect.shape[2], expect.shape[3], 5).transpose(0, 3, 1, 2)
    assert np.array_equal(got, expect)
    assert y.shape == conv(x).shape
    # int8 on a conv is close to float: the scheme is wired to the right weights and scales
    q8 = _calibrated(conv, schemes.get_scheme("int8"), x_cal)
    ref = conv(x)
    assert (q8(x) - ref).abs().max() < 0.05 * ref.abs().max()


def test_int_dot_is_the_single_hook():
    calls = []

    class OffByOne(quant.UniformScheme):
        def int_dot(self, a_codes, w_codes):
            calls.append(tuple(a_codes.shape))
            return quant.int_matmul(a_codes, w_codes) + 1

    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))
    x = torch.randn(6, 2, 5, 5)
    exact = quant.quantize_model(model, quant.UniformScheme(8, 8), lambda m: m(x))
    odd = quant.quantize_model(model, OffByOne(8, 8), lambda m: m(x))
    calls.clear()
    exact_layers, odd_layers = quant.emulated_layers(exact), quant.emulated_layers(odd)
    for d in (exact_layers, odd_layers):
        for layer in d.values():
            layer.capture = []
    exact(x), odd(x)
    assert calls == [(6 * 25, 18), (6, 100)]  # whole [N, L] matrices, one call per layer call
    for name in exact_layers:
        diff = odd_layers[name].capture[0]["acc"] - exact_layers[name].capture[0]["acc"]
        if name == "0":
            assert bool((diff == 1).all())
        else:  # the linear sees different activations; its own hook adds 1 on top
            a = odd_layers[name].capture[0]["a_codes"]
            assert torch.equal(odd_layers[name].capture[0]["acc"], a @ odd_layers[name].w_codes.T + 1)


def test_registry_and_labels():
    assert {"int8", "int4", "int2", "w4a8", "uniform"} <= set(schemes.scheme_names())
    assert (schemes.get_scheme("w4a8").label, schemes.get_scheme("w4a8").wbits) == ("w4a8", 4)
    assert schemes.get_scheme("int4").label == "int4"
    s = schemes.get_scheme("int4", abits=8)
    assert (s.label, s.wbits, s.abits) == ("w4a8", 4, 8)
    assert schemes.get_scheme("uniform", wbits=4, abits=8, asymmetric=True).label == "w4a8-asym"
    with pytest.raises(ValueError, match="unknown scheme"):
        schemes.get_scheme("nope")
    with pytest.raises(ValueError, match="wbits"):
        schemes.get_scheme("uniform", wbits=1)
    schemes.register_scheme("test-w3a5", lambda: quant.UniformScheme(3, 5, name="test-w3a5"))
    assert schemes.get_scheme("test-w3a5").wbits == 3


def test_include_exclude():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(8, 4)
    q = quant.quantize_model(model, schemes.get_scheme("int8"), lambda m: m(x), exclude=["2"])
    assert list(quant.emulated_layers(q)) == ["0"] and isinstance(q[2], nn.Linear)
    q = quant.quantize_model(model, schemes.get_scheme("int8"), lambda m: m(x), include=["2"])
    assert list(quant.emulated_layers(q)) == ["2"]
    with pytest.raises(ValueError):
        quant.quantize_model(model, schemes.get_scheme("int8"), lambda m: m(x), include=["x*"])
    assert isinstance(model[0], nn.Linear)  # the original is untouched


def test_overflow_guard():
    a = torch.full((1, 4), 2**31, dtype=torch.int64)  # 4 * 2**62 = 2**64
    with pytest.raises(OverflowError):
        quant.int_matmul(a, a)


def test_registry_holds_the_baselines_and_every_accelerator():
    names = schemes.scheme_names()
    assert {"int8", "int4", "int2", "w4a8", "uniform"} <= set(names)
    for acc in qaccel.ACCELERATORS:  # each accelerator's golden package declares its schemes
        assert set(importlib.import_module(f"golden.{acc}").SCHEMES) <= set(names)
    assert "sbq" in names


def test_accelerator_without_golden_package_fails_loudly(monkeypatch):
    monkeypatch.setattr(schemes, "_COLLECTED", {})  # collect again, under the patched table
    monkeypatch.setattr(qaccel, "ACCELERATORS", (*qaccel.ACCELERATORS, "nosuchacc"))
    with pytest.raises(ModuleNotFoundError, match=r"'nosuchacc'.*golden\.nosuchacc"):
        schemes.scheme_names()
    with pytest.raises(ModuleNotFoundError, match=r"golden\.nosuchacc"):
        schemes.get_scheme("int8")


def test_accelerator_schemes_are_collected_by_name(monkeypatch):
    fake = types.ModuleType("golden.fakeacc")
    fake.SCHEMES = {"fake-w3a5": lambda: quant.UniformScheme(3, 5, name="fake-w3a5")}
    monkeypatch.setitem(sys.modules, "golden.fakeacc", fake)
    monkeypatch.setattr(schemes, "_COLLECTED", {})
    monkeypatch.setattr(qaccel, "ACCELERATORS", (*qaccel.ACCELERATORS, "fakeacc"))
    assert schemes.get_scheme("fake-w3a5").wbits == 3
    fake.SCHEMES = {"int8": quant.UniformScheme}  # a name clash with a baseline
    monkeypatch.setattr(schemes, "_COLLECTED", {})
    with pytest.raises(ValueError, match="'int8' of golden.fakeacc"):
        schemes.scheme_names()
