"""HAP activations and DAR (golden.hap.dar): lossless groups, precisions on hand groups, grouping
modes, the operand matrix of linear and convolution layers, and the validation messages."""

import pytest
import torch
import torch.nn.functional as F

from golden.hap.dar import (
    average_precision,
    bit_length,
    calibrate_activations,
    dar,
    metadata_bits_per_value,
    operand_matrix,
    quantize_activations,
    storage_bits_per_value,
)


def _sequential_dar(matrix, group_size, mode):
    """Plain loops: base, residual and precision of every group."""
    k, p = matrix.shape
    base, prec, res = {}, {}, torch.zeros_like(matrix)
    if mode == "intra":
        spans = [(r, list(range(j, min(j + group_size, p)))) for r in range(k) for j in range(0, p, group_size)]
        for r, cols in spans:
            vals = [int(matrix[r, c]) for c in cols]
            b = min(vals)
            base[(r, cols[0] // group_size)] = b
            prec[(r, cols[0] // group_size)] = (max(vals) - b).bit_length()
            for c in cols:
                res[r, c] = matrix[r, c] - b
    else:
        for c in range(p):
            for i in range(0, k, group_size):
                rows = list(range(i, min(i + group_size, k)))
                vals = [int(matrix[r, c]) for r in rows]
                b = min(vals)
                base[(i // group_size, c)] = b
                prec[(i // group_size, c)] = (max(vals) - b).bit_length()
                for r in rows:
                    res[r, c] = matrix[r, c] - b
    return base, prec, res


@pytest.mark.parametrize("mode", ["intra", "inter"])
@pytest.mark.parametrize("shape,group", [((7, 13), 4), ((5, 16), 8), ((9, 3), 5), ((1, 1), 1), ((6, 10), 1)])
def test_dar_equals_sequential_and_is_lossless(mode, shape, group):
    gen = torch.Generator().manual_seed(shape[0] * 100 + group)
    m = torch.randint(0, 256, shape, generator=gen)
    # narrow groups too, so that precisions below 8 occur
    m[: shape[0] // 2] = 100 + torch.randint(0, 9, (shape[0] // 2, shape[1]), generator=gen)
    g = dar(m, group_size=group, mode=mode)
    base, prec, res = _sequential_dar(m, group, mode)
    assert torch.equal(g.residual, res)
    assert {key: int(g.base[key]) for key in base} == base
    assert {key: int(g.precision[key]) for key in prec} == prec
    assert g.base.numel() == len(base)
    assert torch.equal(g.residual + g.per_value(g.base), m)
    assert (g.residual >= 0).all() and (g.residual < (1 << g.per_value(g.precision))).all()


def test_precision_of_hand_groups():
    m = torch.tensor([[10, 10, 10, 10, 0, 255, 3, 3, 7, 8, 9, 10, 5, 6, 200, 72]])
    g = dar(m, group_size=4)
    assert g.base.tolist() == [[10, 0, 7, 5]]
    assert g.precision.tolist() == [[0, 8, 2, 8]]  # all equal -> 0; 0..255 -> 8; spread 3 -> 2; 195 -> 8
    assert g.residual.tolist() == [[0, 0, 0, 0, 0, 255, 3, 3, 0, 1, 2, 3, 0, 1, 195, 67]]
    assert average_precision(g) == pytest.approx((0 + 8 + 2 + 8) / 4)
    assert metadata_bits_per_value(g) == pytest.approx(12 / 4)
    assert storage_bits_per_value(g) == pytest.approx(4.5 + 3)


def test_all_equal_is_zero_and_full_range_is_eight():
    assert dar(torch.full((3, 8), 77), group_size=4).precision.eq(0).all()
    full = torch.arange(256).reshape(1, 256)
    g = dar(full, group_size=256)
    assert g.precision.tolist() == [[8]] and g.base.tolist() == [[0]]
    assert bit_length(torch.tensor([0, 1, 2, 3, 4, 127, 128, 255])).tolist() == [0, 1, 2, 2, 3, 7, 8, 8]


def test_short_last_group():
    m = torch.tensor([[1, 2, 3, 4, 50, 52]])  # G = 4: [1..4] and the short [50, 52]
    g = dar(m, group_size=4)
    assert g.base.tolist() == [[1, 50]] and g.precision.tolist() == [[2, 2]]
    assert average_precision(g) == pytest.approx(2.0)
    assert metadata_bits_per_value(g) == pytest.approx(2 * 12 / 6)


def test_inter_versus_intra():
    # rows constant, columns varied: intra groups are all equal (0 bits), inter groups span 0..200
    m = torch.tensor([[0] * 4, [200] * 4, [0] * 4, [200] * 4])
    intra, inter = dar(m, group_size=4), dar(m, group_size=4, mode="inter")
    assert intra.base.shape == (4, 1) and inter.base.shape == (1, 4)
    assert average_precision(intra) == 0.0 and average_precision(inter) == 8.0
    assert torch.equal(inter.residual, m)


def test_activation_quantization():
    x = torch.tensor([-1.0, 0.0, 0.5, 3.0])
    scale, zero = calibrate_activations(x)
    assert scale == pytest.approx(4.0 / 255, rel=1e-6) and zero == round(1.0 / scale)
    q = quantize_activations(x, scale=scale, zero_point=zero)
    assert q.dtype == torch.int64 and q.tolist()[0] == 0 and q.tolist()[-1] == 255
    assert q.tolist()[1] == zero  # real zero is exactly the zero point
    assert calibrate_activations(torch.zeros(3)) == (1.0, 0)
    assert calibrate_activations(torch.tensor([1.0, 2.0]))[1] == 0  # range widened to hold 0
    # half to even
    assert quantize_activations(torch.tensor([0.5, 1.5, 2.5]), scale=1.0, zero_point=0).tolist() == [0, 2, 2]
    assert quantize_activations(torch.tensor([-9.0, 1e9]), scale=1.0, zero_point=3).tolist() == [0, 255]


def test_operand_matrix_linear_and_conv():
    gen = torch.Generator().manual_seed(3)
    lin = torch.randint(0, 256, (2, 3, 5), generator=gen)
    q = operand_matrix(lin)
    assert q.shape == (5, 6) and torch.equal(q[:, 4], lin[1, 1])
    fmap = torch.randint(0, 256, (2, 3, 5, 6), generator=gen)
    w = torch.randint(-8, 8, (4, 3, 3, 3), generator=gen)
    z = 17
    q = operand_matrix(fmap, kernel=3, stride=(2, 1), padding=1, zero_point=z)
    assert q.shape == (27, 2 * 3 * 6)
    ref = F.conv2d(F.pad((fmap - z).double(), (1, 1, 1, 1)), w.double(), stride=(2, 1))
    got = w.reshape(4, -1) @ (q - z)
    assert torch.equal(got, ref.to(torch.int64).permute(1, 0, 2, 3).reshape(4, -1))


@pytest.mark.parametrize("call,error,match", [
    (lambda: dar(torch.zeros(2, 2), group_size=2), TypeError, "matrix must be int64"),
    (lambda: dar([[1]], group_size=2), TypeError, "matrix must be a torch.Tensor"),
    (lambda: dar(torch.full((2, 2), 256), group_size=2), ValueError, r"matrix must lie in 0..255"),
    (lambda: dar(torch.full((2, 2), -1), group_size=2), ValueError, r"matrix must lie in 0..255"),
    (lambda: dar(torch.zeros(4, dtype=torch.int64), group_size=2), ValueError, r"non-empty \[K, P\]"),
    (lambda: dar(torch.zeros(2, 2, dtype=torch.int64), group_size=0), ValueError, "group_size must be >= 1"),
    (lambda: dar(torch.zeros(2, 2, dtype=torch.int64), group_size=2.0), TypeError, "group_size must be an int"),
    (lambda: dar(torch.zeros(2, 2, dtype=torch.int64), group_size=2, mode="row"), ValueError, "mode must be one of"),
    (lambda: quantize_activations(torch.ones(2), scale=0.0, zero_point=0), ValueError, "scale must be positive"),
    (lambda: quantize_activations(torch.ones(2), scale=1.0, zero_point=256), ValueError, "zero_point must be <= 255"),
    (lambda: quantize_activations(torch.ones(2, dtype=torch.int64), scale=1.0, zero_point=0), TypeError, "floating-point"),
    (lambda: calibrate_activations(torch.tensor([float("nan")])), ValueError, "x must be finite"),
    (lambda: operand_matrix(torch.zeros(2, 3, dtype=torch.int64), kernel=3), ValueError, r"\[N, C, H, W\]"),
    (lambda: average_precision("groups"), TypeError, "groups must be a DarGroups"),
])
def test_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()
