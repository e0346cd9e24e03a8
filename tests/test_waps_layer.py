"""The WAPS integer layer (golden.waps.layer): fast version vs the sequential reference, hand examples
of the floor shift on negative sums, requantization corners and the validation messages."""

from dataclasses import replace

import pytest
import torch

from golden.waps import (
    SELECT_DOWN,
    SELECT_ONE,
    SELECT_UP,
    WapsLayer,
    accumulate,
    forward,
    group_sums,
    reference_forward,
    reference_group_sums,
    requantize,
    scale_sum,
)


def random_layer(seed, *, conv=False, outputs=5, sizes=(3, 0, 1, 4), w_bits=4, a_bits=4, out_bits=4,
                 relu=True, n=4, shift=12, stride=1, padding=0, kernel=3):
    g = torch.Generator().manual_seed(seed)
    inputs = sum(sizes)
    shape = (outputs, inputs, kernel, kernel) if conv else (outputs, inputs)
    half = 2 ** (w_bits - 1)
    weight = torch.randint(-half, half, shape, generator=g)
    selects = tuple(int(s) for s in torch.randint(0, 3, (len(sizes),), generator=g))
    multiplier = torch.randint(-(2**10), 2**10, (outputs,), generator=g)
    bias = torch.randint(-(2**14), 2**14, (outputs,), generator=g)
    return WapsLayer(weight=weight, group_sizes=tuple(sizes), group_selects=selects, n=n,
                     multiplier=multiplier, bias=bias, shift=shift, relu=relu, w_bits=w_bits,
                     a_bits=a_bits, out_bits=out_bits, stride=stride, padding=padding)


def random_input(layer, seed, batch=3, size=5):
    g = torch.Generator().manual_seed(seed + 1000)
    shape = (batch, layer.inputs, size, size) if layer.conv else (batch, layer.inputs)
    return torch.randint(0, 2**layer.a_bits, shape, generator=g)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("relu", [True, False])
def test_linear_fast_equals_reference(seed, relu):
    layer = random_layer(seed, relu=relu)
    x = random_input(layer, seed)
    assert torch.equal(group_sums(layer, x), torch.tensor(reference_group_sums(layer, x)))
    assert torch.equal(forward(layer, x), reference_forward(layer, x))


@pytest.mark.parametrize("seed,stride,padding", [(0, 1, 0), (1, 1, 1), (2, 2, 1), (3, 2, 0)])
def test_conv_fast_equals_reference(seed, stride, padding):
    layer = random_layer(seed, conv=True, sizes=(2, 0, 1, 2), stride=stride, padding=padding, relu=seed % 2 == 0)
    x = random_input(layer, seed, batch=2, size=6)
    assert torch.equal(group_sums(layer, x), torch.tensor(reference_group_sums(layer, x)))
    y = forward(layer, x)
    assert y.shape[:2] == (2, layer.outputs)
    assert torch.equal(y, reference_forward(layer, x))


def test_conv_group_sums_match_float_conv():
    """The group sums add up to an ordinary convolution (exact in float64 at these sizes)."""
    layer = random_layer(7, conv=True, sizes=(2, 3), padding=1)
    x = random_input(layer, 7, size=7)
    want = torch.nn.functional.conv2d(x.double(), layer.weight.double(), padding=1)
    assert torch.equal(group_sums(layer, x).sum(dim=1), want.to(torch.int64))


def test_scale_sum_floor_shift_by_hand():
    s = torch.tensor([0, 1, 15, 16, 17, -1, -15, -16, -17, -33])
    # S >> 4, floor:   0  0  0   1   1   -1  -1   -1   -2   -3
    assert scale_sum(s, SELECT_ONE, 4).tolist() == s.tolist()
    assert scale_sum(s, SELECT_DOWN, 4).tolist() == [0, 1, 15, 15, 16, 0, -14, -15, -15, -30]
    assert scale_sum(s, SELECT_UP, 4).tolist() == [0, 1, 15, 17, 18, -2, -16, -17, -19, -36]


def test_negative_sum_shift_is_floor_not_truncation():
    """A linear layer by hand: S = -1 in group 0 (down: -1 - (-1) = 0), S = -17 in group 1
    (up: -17 + (-2) = -19); a truncating shift would give -1 and -18."""
    layer = WapsLayer(weight=torch.tensor([[-1, -1, -1, -1, -1]]), group_sizes=(1, 4), group_selects=(SELECT_DOWN, SELECT_UP),
                      n=4, multiplier=torch.tensor([1]), bias=torch.tensor([0]), shift=0, relu=False,
                      w_bits=2, a_bits=3, out_bits=8)
    x = torch.tensor([[1, 7, 7, 3, 0]])
    assert group_sums(layer, x).tolist() == [[[-1], [-17]]]
    assert accumulate(layer, x).tolist() == [[-19]]
    assert forward(layer, x).tolist() == [[-19]]
    assert reference_forward(layer, x).tolist() == [[-19]]


def test_requantize_floor_round_and_clamp():
    t = torch.tensor([-5, -3, 0, 3, 5, 1000, -1000])
    # (t * 3 + 2) >> 2: floor of -13/4 = -4, -7/4 = -2, 1/2 = 0, 11/4 = 2, 17/4 = 4, big, -big
    assert requantize(t, torch.tensor(3), torch.tensor(2), 2, False, 4).tolist() == [-4, -2, 0, 2, 4, 7, -8]
    assert requantize(t, torch.tensor(3), torch.tensor(2), 2, True, 4).tolist() == [0, 0, 0, 2, 4, 15, 0]
    assert requantize(t, torch.tensor(-1), torch.tensor(0), 0, False, 8).tolist() == [5, 3, 0, -3, -5, -128, 127]


def test_extreme_codes_and_empty_groups():
    layer = random_layer(3, outputs=2, sizes=(0, 6, 0), w_bits=4, a_bits=8)
    layer = replace(layer, weight=torch.full((2, 6), -8))
    x = torch.full((1, 6), 255)
    sums = group_sums(layer, x)
    assert sums.tolist() == [[[0, 0], [-8 * 255 * 6] * 2, [0, 0]]]
    assert torch.equal(forward(layer, x), reference_forward(layer, x))


def test_overflow_bound_refused():
    layer = random_layer(0)
    with pytest.raises(ValueError, match="beyond 2\\^62"):
        replace(layer, multiplier=torch.full((layer.outputs,), 2**55))


@pytest.mark.parametrize("change,error,message", [
    ({"weight": [[1]]}, TypeError, "weight must be a torch.Tensor"),
    ({"weight": torch.zeros(5, 8)}, TypeError, "weight must be int64"),
    ({"weight": torch.zeros(5, 8, 3, dtype=torch.int64)}, ValueError, "weight must have 2 or 4 dimensions"),
    ({"weight": torch.full((5, 8), 8)}, ValueError, "weight codes must be in \\[-8, 7\\]"),
    ({"group_sizes": [3, 0, 1, 4]}, TypeError, "must be tuples"),
    ({"group_sizes": (3, 0, 1, 3)}, ValueError, "must sum to the 8 input channels"),
    ({"group_sizes": (9, -1, 0, 0)}, ValueError, "a group size must be >= 0"),
    ({"group_sizes": (), "group_selects": ()}, ValueError, "at least one group"),
    ({"group_selects": (0, 1, 2)}, ValueError, "one select per group"),
    ({"group_selects": (0, 1, 2, 3)}, ValueError, "a group select must be one of"),
    ({"group_selects": (0, 1, 2, True)}, TypeError, "a group select must be an int"),
    ({"n": 0}, ValueError, "n must be >= 1"),
    ({"n": 4.0}, TypeError, "n must be an int"),
    ({"shift": -1}, ValueError, "shift must be >= 0"),
    ({"relu": 1}, TypeError, "relu must be a bool"),
    ({"relu": False, "out_bits": 1}, ValueError, "need out_bits >= 2"),
    ({"multiplier": torch.zeros(4, dtype=torch.int64)}, ValueError, "one entry per output"),
    ({"bias": torch.zeros(5)}, TypeError, "bias must be int64"),
    ({"stride": 2}, ValueError, "linear layer"),
    ({"w_bits": 1}, ValueError, "w_bits must be >= 2"),
])
def test_validation_messages(change, error, message):
    with pytest.raises(error, match=message):
        replace(random_layer(0), **change)


def test_input_validation():
    layer = random_layer(0)
    with pytest.raises(ValueError, match="unsigned a_bits=4 codes"):
        forward(layer, torch.full((1, layer.inputs), 16))
    with pytest.raises(ValueError, match="8 input channels"):
        forward(layer, torch.zeros((1, 7), dtype=torch.int64))
    with pytest.raises(TypeError, match="x must be int64"):
        forward(layer, torch.zeros((1, 8)))
