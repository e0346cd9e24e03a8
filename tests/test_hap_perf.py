"""Cycle models of the comparison (golden.perf) on hand examples, and HAP at ISO compute against the
exact single-array model."""

import math

import pytest
import torch

from golden.hap.cycles import layer_cycles as single_array_cycles
from golden.hap.dar import dar
from golden.perf import bitwave, hap, iso, shapeshifter, stripes
from golden.perf.compare import geomean, short


def test_every_design_spends_the_same_budget():
    assert iso.BUDGET == 512 * 64 == 32768
    for design in iso.DESIGNS:
        assert iso.bit_products(design) == iso.BUDGET, design
    assert hap.ROWS * hap.COLS * hap.ARRAYS == iso.DESIGNS["hap"]["count"]
    assert stripes.FILTERS * stripes.WINDOWS * stripes.LANES == iso.DESIGNS["stripes"]["count"]
    assert bitwave.CHANNELS * bitwave.POSITIONS == iso.DESIGNS["bitwave"]["count"]


# ------------------------------------------------------------------------------------------------
# Stripes


@pytest.mark.parametrize("lo, hi, bits", [(0, 0, 1), (0, 1, 1), (0, 127, 7), (0, 128, 8), (-1, 0, 1), (-1, 1, 2),
                                          (-128, 127, 8), (-64, 63, 7), (-65, 0, 8), (0, 64, 7), (-3, 64, 8)])
def test_stripes_layer_precision(lo, hi, bits):
    assert stripes.layer_precision(torch.tensor([[lo, hi]])) == bits


def test_stripes_cycles_count_every_tile_step_at_the_layer_precision():
    codes = torch.zeros(33, 17, dtype=torch.int64)
    codes[0, 0] = 100  # 7 bits
    # ceil(20/16)=2 filter tiles, ceil(17/16)=2 window tiles, ceil(33/16)=3 bricks, 7 cycles each
    assert stripes.layer_cycles(codes, 20) == 2 * 2 * 3 * 7
    assert stripes.layer_cycles(codes, 16, precision=8) == 1 * 2 * 3 * 8


# ------------------------------------------------------------------------------------------------
# ShapeShifter


def test_shapeshifter_value_width_is_sign_magnitude():
    a = torch.tensor([0, 1, 2, 3, 4, 127, 128, -1, -2, -127, -128])
    assert shapeshifter.value_width(a).tolist() == [0, 1, 2, 2, 3, 7, 8, 2, 3, 8, 9]


def test_shapeshifter_brick_of_known_magnitudes():
    # one window, a brick of 16 values: the largest magnitude 37 (6 bits), one negative -5 (3 + 1)
    brick = torch.tensor([[0, 3, 37, 1, -5, 0, 2, 9, 0, 0, 0, 0, 0, 0, 0, 1]]).T
    assert shapeshifter.brick_precisions(brick).tolist() == [[6]]
    assert shapeshifter.layer_cycles(brick, 16) == 6
    brick[0, 0] = -40  # negative with 6 magnitude bits: 7
    assert shapeshifter.layer_cycles(brick, 16) == 7
    assert shapeshifter.brick_precisions(torch.zeros(16, 1, dtype=torch.int64)).tolist() == [[1]]  # at least 1


def test_shapeshifter_windows_of_a_tile_wait_for_the_slowest_and_bricks_are_independent():
    codes = torch.ones(32, 20, dtype=torch.int64)  # 2 bricks x 20 windows, 1 bit each
    codes[3, 5] = 255  # brick 0 of window 5 (tile 0): 8 bits
    codes[20, 17] = -2  # brick 1 of window 17 (tile 1): 3 bits
    # filter tiles: ceil(17/16) = 2; tile 0: 8 + 1, tile 1: 1 + 3
    assert shapeshifter.layer_cycles(codes, 17) == 2 * (8 + 1 + 1 + 3)
    # unlimited run-ahead: tile 0's windows sum 9 (window 5) or 2; tile 1's 4 (window 17) or 2
    assert shapeshifter.layer_cycles(codes, 17, runahead=True) == 2 * (9 + 4)
    # a short last brick (K = 18: bricks of 16 and 2)
    assert shapeshifter.brick_precisions(codes[:18]).shape == (2, 20)


def test_shapeshifter_never_slower_than_stripes_on_unsigned_codes():
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 256, (40, 50), generator=g) >> torch.randint(0, 8, (40, 50), generator=g)
    assert shapeshifter.layer_cycles(codes, 24) <= stripes.layer_cycles(codes, 24)
    full = torch.full((16, 16), 255, dtype=torch.int64)
    assert shapeshifter.layer_cycles(full, 16) == stripes.layer_cycles(full, 16) == 8


# ------------------------------------------------------------------------------------------------
# BitWave


def test_bitwave_column_counts_of_known_groups():
    w = torch.tensor([
        [1, 2, 4, 8, 0, 0, 0, 0, 3, 3],  # group 0: columns 0..3 -> 4; group 1 (2 weights): column 0, 1 -> 2
        [-1, -1, 1, 1, -1, 1, -1, 1, 0, 0],  # signs do not count: column 0 -> 1; group 1 all zero -> 0
        [-128, 127, 0, 0, 0, 0, 0, 0, 0, 0],  # 128 = bit 7, 127 = bits 0..6 -> 8
        [0, 0, 0, 0, 0, 0, 0, 0, 64, -64],  # group 0 zero; group 1: bit 6 -> 1
    ])
    assert bitwave.column_counts(w).tolist() == [[4, 2], [1, 0], [8, 0], [0, 1]]


def test_bitwave_layer_cycles_lockstep_over_the_channels_of_a_step():
    w = torch.zeros(20, 16, dtype=torch.int64)
    w[0, :8] = 5  # channel 0, group 0: columns 0 and 2 -> 2
    w[3, :8] = 7  # channel 3, group 0: 3 columns; channel tile 0, group 0 costs 3
    w[17, 8] = 1  # channel 17 (tile 1), group 1: 1
    # positions: ceil(40 / 32) = 2 steps of positions; per step: tile 0 (3 + 0) + tile 1 (0 + 1)
    assert bitwave.layer_cycles(w, 40) == 2 * (3 + 1)
    assert bitwave.layer_cycles(torch.zeros(4, 8, dtype=torch.int64), 32) == 0


def test_bitwave_refuses_wider_codes():
    with pytest.raises(ValueError, match="weight codes must lie in -128..127"):
        bitwave.column_counts(torch.tensor([[129]]))
    with pytest.raises(TypeError, match="int64"):
        bitwave.column_counts(torch.tensor([[1.0]]))


# ------------------------------------------------------------------------------------------------
# HAP at ISO compute


def codes_with_precisions():
    g = torch.Generator().manual_seed(1)
    base = torch.randint(0, 128, (24, 70), generator=g)
    spread = 1 << torch.randint(0, 8, (24, 70), generator=g)
    return (base + torch.randint(0, 128, (24, 70), generator=g) % spread).clamp(0, 255)


def test_one_array_is_the_exact_model():
    groups = dar(codes_with_precisions(), group_size=16)
    bits = [8, 4, 4, 8] + [4] * 15 + [8]
    for rows in (2, 4, 16):
        assert hap.layer_cycles(groups, bits, rows=rows, arrays=1) == single_array_cycles(groups, bits, rows=rows, cols=16)


def test_tiles_are_dealt_to_the_arrays_in_issue_order():
    groups = dar(codes_with_precisions(), group_size=16)  # 5 column groups
    bits = [4] * 20  # rows 16: two row tiles -> 10 tiles
    costs = hap.tile_costs(groups, bits)
    assert costs.numel() == 10 and int(costs.sum()) == single_array_cycles(groups, bits, rows=16, cols=16)
    for arrays in (1, 3, 10, 32):
        expected = max(int(costs[a::arrays].sum()) for a in range(min(arrays, 10)))
        assert hap.layer_cycles(groups, bits, arrays=arrays) == expected
    # a row tile of 16 channels and one of 4: the cost is per tile, the drain depends on the tile rows
    k = groups.precision.shape[0]
    p0 = groups.precision[:, 0]
    assert int(costs[0]) == max(int(p0.sum()), k) + 1 + 16


def test_hap_refuses_groups_not_matching_the_columns():
    with pytest.raises(ValueError, match="intra-channel DAR groups of size cols"):
        hap.tile_costs(dar(codes_with_precisions(), group_size=8), [4] * 20)
    with pytest.raises(ValueError, match="arrays must be a positive int"):
        hap.layer_cycles(dar(codes_with_precisions(), group_size=16), [4] * 20, arrays=0)


def test_geomean_and_labels():
    assert geomean([2.0, 8.0]) == pytest.approx(4.0) and math.isclose(geomean([3.0]), 3.0)
    assert short("bert.encoder.layer.3.attention.self.query") == "3.q"
    assert short("bert.encoder.layer.0.attention.output.dense") == "0.ao"
    assert short("bert.encoder.layer.5.intermediate.dense") == "5.ffn1"
    assert short("bert.encoder.layer.5.output.dense") == "5.ffn2"
    assert short("block1.a.conv") == "block1.a"


# ------------------------------------------------------------------------------------------------
# The real layers of digits_cnn


@pytest.fixture(scope="module")
def digits_operands():
    from golden.hap.operands import capture_operands
    from golden.models import get_network

    net = get_network("digits_cnn")
    return net, capture_operands(net.load(), net.calibrate)


def test_operands_are_what_the_scheme_calibrates(digits_operands):
    from golden import quant
    from golden.evaluate import quantized
    from golden.hap.scheme import HAPScheme

    net, ops = digits_operands
    layers = quant.emulated_layers(quantized(net, HAPScheme(4.6)))
    assert [op.name for op in ops] == list(layers)
    for op in ops:
        assert (op.scale, op.zero_point) == (layers[op.name].params.scale, layers[op.name].params.zero_point)
        assert op.codes.shape == op.signed.shape and op.shape["K"] == op.weight.shape[1]
        assert 0 <= int(op.codes.min()) and int(op.codes.max()) <= 255
        assert -128 <= int(op.signed.min()) and int(op.signed.max()) <= 127
    assert ops[1].shape == {"O": 16, "K": 144, "P": 128 * 64}  # block1.a: 3x3x16 im2col over 128 images of 8x8


def test_models_on_real_layers(digits_operands):
    from golden.hap.weights import quantize_channels

    _, ops = digits_operands
    for op in ops:
        o, k, p = op.shape["O"], op.shape["K"], op.shape["P"]
        runahead = shapeshifter.layer_cycles(op.signed, o, runahead=True)
        assert runahead <= shapeshifter.layer_cycles(op.signed, o) <= stripes.layer_cycles(op.signed, o)
        bits = [8 if i % 7 == 0 else 4 for i in range(o)]
        codes = quantize_channels(op.weight, torch.tensor(bits)).codes
        assert 0 < bitwave.layer_cycles(codes, p) <= -(-p // 32) * -(-o // 16) * -(-k // 8) * 8
        groups = dar(op.codes, group_size=16)
        single = single_array_cycles(groups, bits, rows=16, cols=16)
        assert hap.layer_cycles(groups, bits, arrays=1) == single
        assert -(-single // 32) <= hap.layer_cycles(groups, bits) <= single


def test_summary_and_tables_of_the_comparison():
    from golden.perf.compare import GEOMETRIES, markdown, model_summary

    def row(name, s, ss, bw, h):
        cycles = {"stripes": s, "shapeshifter": ss, "bitwave": bw, "hap": h, "hap5.6": 2 * h, "hap8": 3 * h,
                  "shapeshifter_runahead": ss // 2,
                  "stripes_same_codes": 2 * s, "shapeshifter_same_codes": ss}
        stats = {"stripes_precision": 8, "shapeshifter_mean_brick_precision": 5.0, "bitwave_mean_columns": 3.0,
                 "dar_mean_precision": 4.0, "hap_8bit_channels": 1}
        return {"layer": name, "O": 16, "K": 16, "P": 16, "cycles": cycles, "stats": stats,
                "speedup": {d: cycles[d] / h for d in ("stripes", "shapeshifter", "bitwave")}}

    layers = [row("a", 400, 200, 100, 100), row("b", 100, 100, 100, 100)]
    m = model_summary(layers)
    assert m["speedup_geomean"] == {"stripes": 2.0, "shapeshifter": pytest.approx(1.4142, abs=1e-4), "bitwave": 1.0}
    assert m["speedup_total"] == {"stripes": 2.5, "shapeshifter": 1.5, "bitwave": 1.0}
    assert m["speedup_geomean_hap8"]["stripes"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["speedup_geomean_same_codes"]["stripes"] == 4.0
    assert m["speedup_geomean_shapeshifter_runahead"] == pytest.approx(0.7071, abs=1e-4)
    geometry = {str(r): {"rows": r, "arrays": 512 // r, "total_cycles": r} for r in GEOMETRIES}
    data = {"models": {"net": {"layers": layers, **m, "hap_geometry": geometry}},
            "speedup": m["speedup_geomean"], "speedup_same_codes": m["speedup_geomean_same_codes"]}
    text = markdown(data)
    assert "| net, geometric mean over layers | 2.00x | 1.41x | 1.00x |" in text
    assert "| net, ShapeShifter with unlimited run-ahead (geometric mean) |  | 0.71x |  |" in text
    assert "| a | 16 | 16 | 16 | 8 | 5.00 | 3.00 | 4.00 | 1 | 400 | 200 | 100 | 100 | 4.00, 2.00, 1.00 |" in text
