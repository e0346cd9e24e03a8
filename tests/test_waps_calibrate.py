"""WAPS calibration (golden.waps.calibrate, .network, .real): the rectified functions, the export
against the float meaning, a short calibration on the real network, and the real layers' cache."""

import pytest
import torch

from golden.waps import layer as wl
from golden.waps.calibrate import (
    GAMMA,
    ZETA,
    CalibConfig,
    LayerResult,
    calibrate_network,
    channel_scales,
    export_grouped,
    fake_quant,
    group_scales,
    rectified_sigmoid,
    rectified_softmax,
)
from golden.waps.network import LAYERS, act_codes, record_inputs, taps
from golden.waps.permute import permute_network, stream_order


def test_rectified_sigmoid_limits():
    v = torch.tensor([-100.0, -3.0, 0.0, 3.0, 100.0])
    h = rectified_sigmoid(v)
    assert h[0] == 0 and h[-1] == 1 and h[2] == pytest.approx(0.5)
    assert bool(((h >= 0) & (h <= 1)).all())
    # the stretch reaches 0 and 1 at finite V: sigmoid(V) = -gamma / (zeta - gamma) gives exactly 0
    edge = torch.logit(torch.tensor(-GAMMA / (ZETA - GAMMA), dtype=torch.float64))
    assert float(rectified_sigmoid(edge - 1e-3)) == 0.0


def test_rectified_softmax_shapes_and_limits():
    r = torch.zeros(5, 3)
    s = rectified_softmax(r)
    assert s.shape == (5, 3)
    assert torch.allclose(s, torch.full((5, 3), (ZETA - GAMMA) / 3 + GAMMA))
    r = torch.tensor([[50.0, 0.0, 0.0], [0.0, 50.0, 0.0], [0.0, 0.0, 50.0]])
    assert torch.equal(rectified_softmax(r), torch.eye(3))
    # one-hot assignments give exactly the group scales 1, 1 - 2^-n, 1 + 2^-n
    assert torch.equal(channel_scales(r.double(), 4), group_scales(4))
    # uniform probabilities give the mean of the scales: 1
    assert torch.allclose(channel_scales(torch.zeros(4, 3, dtype=torch.float64), 4), torch.ones(4, dtype=torch.float64))


def _random_result(conv: bool, relu: bool, seed: int) -> LayerResult:
    gen = torch.Generator().manual_seed(seed)
    out, inp = 6, 5
    shape = (out, inp, 3, 3) if conv else (out, inp)
    return LayerResult(
        name="t", codes=torch.randint(-8, 8, shape, generator=gen), s_w=torch.rand(out, generator=gen, dtype=torch.float64) * 0.1 + 0.01,
        selects=torch.randint(0, 3, (inp,), generator=gen), gamma_z=1 + 0.1 * torch.randn(out, generator=gen, dtype=torch.float64),
        phi_z=0.1 * torch.randn(out, generator=gen, dtype=torch.float64), bias=torch.randn(out, generator=gen, dtype=torch.float64),
        s_x=0.07, s_out=0.05 if relu else 0.03, relu=relu, w_bits=4, a_bits=4, out_bits=4 if relu else 8, n=4,
        stride=2 if conv else 1, padding=1 if conv else 0)


@pytest.mark.parametrize("conv", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_export_matches_fake_quant_random(conv, relu):
    res = _random_result(conv, relu, seed=3 + 2 * conv + relu)
    gen = torch.Generator().manual_seed(7)
    x = torch.randint(0, 16, (16, 5, 7, 7) if conv else (64, 5), generator=gen)
    layer, order = export_grouped(res)
    assert len(layer.group_sizes) <= 3
    # the multiplier uses its 16 signed bits: the largest shift that fits, not one less
    assert 2**14 <= int(layer.multiplier.abs().max()) < 2**15
    x_read = x[:, order]
    y = wl.forward(layer, x_read)
    diff = (y - fake_quant(res, x, floor_shift=True)).abs()
    assert int(diff.max()) <= 1  # only the rounded multiplier and bias differ
    assert float((diff == 0).double().mean()) > 0.99
    # against the real scales 1 -/+ 2^-n: the floors move T by less than 2 units
    step = float((res.s_x * res.s_w * res.gamma_z.abs() / res.s_out).max())
    assert int((y - fake_quant(res, x)).abs().max()) <= 1 + int(2 * step + 1)
    assert torch.equal(y, wl.reference_forward(layer, x_read))


@pytest.fixture(scope="module")
def short_calibration():
    from golden.models import get_network

    net = get_network("digits_cnn")
    calib = net.splits["calib"][0][:48]  # a third of the split: enough to see every loss fall, faster
    config = CalibConfig(w_bits=2, a_bits=4, iterations=40, batch=16)
    return net, calib, calibrate_network(net.load(), calib, config)


def test_short_calibration_lowers_every_loss(short_calibration):
    _, _, result = short_calibration
    for name in LAYERS:
        losses = result.layers[name].losses
        assert losses["after"] < losses["before"], name


def test_export_matches_fake_quant_real(short_calibration):
    _, calib, result = short_calibration
    qmodel = result.integer_model()
    for name, tap in taps(qmodel).items():
        res = result.layers[name]
        x = act_codes(record_inputs(qmodel, name, calib[:16]), res.s_x, res.a_bits)
        assert torch.equal(tap.codes(record_inputs(qmodel, name, calib[:16])), x[:, tap.in_order])
        y = wl.forward(tap.waps, x[:, tap.in_order])
        diff = (y - fake_quant(res, x, floor_shift=True)).abs()
        assert int(diff.max()) <= 1, name
        assert float((diff == 0).double().mean()) > 0.99, name


def test_calibrated_layers_api_and_cache():
    from golden.waps.real import calibrated_layers

    rows = calibrated_layers(w_bits=4, a_bits=4, iterations=20, images=2)
    again = calibrated_layers(w_bits=4, a_bits=4, iterations=20, images=2)
    assert [r[0] for r in rows] == list(LAYERS)
    for (name, layer, x), (_, layer2, x2) in zip(rows, again):
        assert isinstance(layer, wl.WapsLayer)
        assert torch.equal(layer.weight, layer2.weight) and torch.equal(x, x2)
        assert x.dtype == torch.int64 and x.shape[0] == 2 and x.shape[1] == layer.inputs
        assert len(layer.group_sizes) <= 3 and len(set(layer.group_selects)) == len(layer.group_selects)
        wl.forward(layer, x)  # the codes are valid inputs of the layer


def test_permutation_keeps_the_network(short_calibration):
    net, calib, result = short_calibration
    permuted, orders = permute_network(result)
    images = net.splits["test"][0][:64]
    with torch.no_grad():
        before, after = result.model(images), permuted.model(images)
        assert torch.allclose(before, after, atol=1e-5)  # float: only the summation order changes
        int_before, int_after = result.integer_model()(images), permuted.integer_model()(images)
    assert torch.equal(int_before, int_after)  # integers: exactly the same network
    assert any(not torch.equal(o, torch.arange(len(o))) for o in orders.values())
    # after the permutation the first reader of every tensor reads it in order, groups contiguous
    qtaps = taps(permuted.integer_model())
    for name in ("block1.a.conv", "block1.b.conv", "block2.a.conv", "block2.b.conv"):
        assert torch.equal(qtaps[name].in_order, torch.arange(qtaps[name].waps.inputs)), name
        assert list(qtaps[name].waps.group_selects) == sorted(set(qtaps[name].waps.group_selects)), name


def test_stream_order_snake():
    first = torch.tensor([2, 0, 1, 0, 2, 1, 0])
    second = torch.tensor([0, 1, 2, 0, 1, 0, 2])
    order = stream_order([first, second])
    assert first[order].tolist() == [0, 0, 0, 1, 1, 2, 2]
    # inside the first reader's groups the second reader's selects ascend, descend, ascend
    assert second[order].tolist() == [0, 1, 2, 2, 0, 0, 1]


def test_scheme_emulation_agrees_with_the_integer_network(short_calibration):
    from golden.quant import quantize_model
    from golden.waps.scheme import SCHEMES, WapsScheme

    net, _, result = short_calibration
    scheme = WapsScheme(wbits=2, abits=4, iterations=40)
    scheme.result = result  # the fixture's calibration, not a new one
    qmodel = quantize_model(net.load(), scheme, net.calibrate)
    images = net.splits["test"][0][:128]
    with torch.no_grad():
        emulated, exact = qmodel(images), result.integer_model()(images)
    # only the output rounding differs: the same class for nearly every image
    assert float((emulated.argmax(1) == exact.argmax(1)).double().mean()) >= 0.95
    assert set(SCHEMES) == {"waps", "waps-round-only"}
    assert SCHEMES["waps-round-only"]().calib.groups is False


def test_group_dot_scales_partial_sums():
    from golden.waps.scheme import GroupDot

    dot = GroupDot(wbits=4, abits=4, n=4, column_selects=torch.tensor([0, 1, 1, 2]), name="t")
    a = torch.tensor([[15, 15, 15, 15], [1, 0, 0, 0]])
    w = torch.tensor([[1, 8, 8, -8], [-8, 7, 7, 7]])
    # row 0, out 0: S = 15, 240, -120 -> 15 + (240 - 15) + (-120 + floor(-120 / 16) = -128) = 112
    assert dot.int_dot(a, w).tolist() == [[15 + 225 - 128, -120 + (210 - 13) + (105 + 6)], [1, -8]]


def test_layer_calibration_is_deterministic_and_learns_groups():
    from torch import nn

    from golden.waps.calibrate import calibrate_layer

    torch.manual_seed(0)
    conv = nn.Conv2d(6, 4, 3, padding=1)
    x = torch.randint(0, 16, (24, 6, 5, 5))
    # the target wants channels 0-1 scaled down and 4-5 up by 2^-4: the groups should find it
    scale = torch.tensor([15 / 16, 15 / 16, 1, 1, 17 / 16, 17 / 16]).reshape(1, 6, 1, 1)
    with torch.no_grad():
        target = conv(x.float() * 0.1 * scale)
    config = CalibConfig(w_bits=4, a_bits=4, iterations=120, batch=8, lr=0.05)
    runs = [calibrate_layer(conv, "block1.a.conv", x, target, s_x=0.1, s_out=0.2, out_bits=4, config=config)
            for _ in range(2)]
    assert torch.equal(runs[0].codes, runs[1].codes) and torch.equal(runs[0].selects, runs[1].selects)
    assert torch.equal(runs[0].gamma_z, runs[1].gamma_z)
    assert runs[0].losses["after"] < runs[0].losses["before"]
    assert runs[0].selects.tolist() == [1, 1, 0, 0, 2, 2]
