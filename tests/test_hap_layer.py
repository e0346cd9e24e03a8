"""HAP integer layer (golden.hap.layer): fast and sequential versions equal, equal to W (Q - z),
on random and corner data, intra and inter groups; weight validation."""

import pytest
import torch

from golden.hap.dar import dar, operand_matrix
from golden.hap.layer import check_weights, integer_layer, integer_layer_reference, quantize_weights


def _weights(gen, bits, k):
    rows = []
    for b in bits:
        lo, hi = -(1 << (b - 1)), (1 << (b - 1))
        rows.append(torch.randint(lo, hi, (k,), generator=gen))
    return torch.stack(rows)


@pytest.mark.parametrize("mode", ["intra", "inter"])
@pytest.mark.parametrize("k,p,g,z", [(9, 20, 8, 128), (5, 7, 3, 0), (12, 16, 16, 255), (1, 1, 1, 7)])
def test_fast_equals_reference_and_plain_product(mode, k, p, g, z):
    gen = torch.Generator().manual_seed(k * p + g)
    q = torch.randint(0, 256, (k, p), generator=gen)
    bits = [4, 8, 4, 8, 8, 4][: max(1, k % 6 + 1)]
    w = _weights(gen, bits, k)
    groups = dar(q, group_size=g, mode=mode)
    y = integer_layer(groups, w, zero_point=z)
    assert y.dtype == torch.int64
    assert torch.equal(y, w @ (q - z))
    assert torch.equal(y, integer_layer_reference(groups, w, zero_point=z))


def test_corners():
    # extremes: codes 0/255, weights -128/127 and -8/7, all-equal groups (precision 0)
    q = torch.tensor([[0, 255, 0, 255], [255, 255, 255, 255], [0, 0, 0, 0], [7, 7, 7, 8]])
    w = torch.tensor([[-128, 127, -128, 127], [-8, 7, -8, 7], [127, 127, 127, 127]])
    for z in (0, 255, 128):
        groups = dar(q, group_size=4)
        assert torch.equal(integer_layer(groups, w, zero_point=z), w @ (q - z))
        assert torch.equal(integer_layer_reference(groups, w, zero_point=z), w @ (q - z))


def test_conv_layer_equals_conv2d():
    gen = torch.Generator().manual_seed(5)
    fmap = torch.randint(0, 256, (1, 2, 6, 6), generator=gen)
    w4 = torch.randint(-8, 8, (3, 2, 3, 3), generator=gen)
    z = 90
    q = operand_matrix(fmap, kernel=3, padding=1, zero_point=z)
    y = integer_layer(dar(q, group_size=8), w4.reshape(3, -1), zero_point=z)
    ref = torch.nn.functional.conv2d(torch.nn.functional.pad((fmap - z).double(), (1, 1, 1, 1)), w4.double())
    assert torch.equal(y, ref.to(torch.int64).reshape(3, -1))


def test_quantize_weights():
    w = torch.tensor([[1.0, -0.25, 0.5], [2.0, -2.0, 0.0], [0.0, 0.0, 0.0]])
    codes = quantize_weights(w, [4, 8, 4])
    # 1/s = float32(1 / float32(1/7)) is just below 7: 0.5 * 7 - eps rounds to 3, -0.25 * 7 to -2
    assert codes.tolist() == [[7, -2, 3], [127, -127, 0], [0, 0, 0]]
    check_weights(codes, [4, 8, 4])


@pytest.mark.parametrize("call,error,match", [
    (lambda: check_weights(torch.tensor([[8]]), [4]), ValueError, r"channel 0 must lie in -8..7"),
    (lambda: check_weights(torch.tensor([[-129]]), [8]), ValueError, r"-128..127"),
    (lambda: check_weights(torch.tensor([[1]]), [5]), ValueError, "4 or 8 per channel"),
    (lambda: check_weights(torch.tensor([[1]]), [4, 4]), ValueError, "one width per output channel"),
    (lambda: check_weights(torch.tensor([[1.0]]), [4]), TypeError, "weights must be int64"),
    (lambda: check_weights(torch.tensor([[1]]), 4), TypeError, "weight_bits must be a list"),
    (lambda: integer_layer(dar(torch.zeros(2, 2, dtype=torch.int64), group_size=2), torch.zeros(1, 3, dtype=torch.int64),
                           zero_point=0), ValueError, "K = 3"),
    (lambda: integer_layer(dar(torch.zeros(2, 2, dtype=torch.int64), group_size=2), torch.zeros(1, 2, dtype=torch.int64),
                           zero_point=256), ValueError, "zero_point must lie in 0..255"),
])
def test_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()
