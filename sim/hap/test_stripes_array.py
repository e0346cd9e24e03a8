# amaranth: UnusedElaboratable=no
"""The Stripes-style bit-serial array (``hdl.hap.stripes``) in Amaranth's simulator against a plain
reference: ``result[f][w] = sum_k weights[f][k] * acts[w][k]`` (torch int64 matmul), fed as
bit-serial bricks, most significant bit first, in ``p`` steps per brick."""

import random

import pytest
import torch

from hdl.hap.stripes import StripesArray, signed_width
from sim.unit import collector, simulate

#: Cycles from the transfer of an inner product's last step to ``result.valid``.
LATENCY = 3


def steps(dut: StripesArray, weights: torch.Tensor, acts: torch.Tensor, precisions: list[int]) -> list:
    """The step payloads of one inner product: ``weights`` [filters, K] (signed), ``acts`` [windows, K]
    (unsigned), brick ``j`` (values ``j * lanes ..``, zero-padded) at precision ``precisions[j]``."""
    layout = dut.step.payload.shape()
    L = dut.lanes
    K = weights.shape[1]
    bricks = -(-K // L)
    assert len(precisions) == bricks
    out = []
    for j, p in enumerate(precisions):
        cols = range(j * L, (j + 1) * L)
        w = [[int(weights[f, k]) if k < K else 0 for k in cols] for f in range(dut.filters)]
        a = [[int(acts[v, k]) if k < K else 0 for k in cols] for v in range(dut.windows)]
        assert all(0 <= x < 1 << p for row in a for x in row), "activation wider than its brick's precision"
        for t in range(p):
            bit = p - 1 - t
            out.append(layout.const({
                "weights": w if t == 0 else [[0] * L for _ in range(dut.filters)],  # read only in step 0
                "bits": [[(x >> bit) & 1 for x in row] for row in a],
                "lsb": int(t == p - 1),
                "last": int(t == p - 1 and j == bricks - 1),
            }))
    return out


def reference(weights: torch.Tensor, acts: torch.Tensor) -> list[list[int]]:
    return (weights.to(torch.int64) @ acts.to(torch.int64).T).tolist()


def run(dut, products, *, gaps=0.0, stalls=0.0, seed=0):
    """Drive every inner product ``(weights, acts, precisions)``; return ``(results, last-step cycles,
    ready-low cycles while valid)``: results as ``(cycle, [[int]])``."""
    payloads, ends = [], []
    for weights, acts, precisions in products:
        payloads += steps(dut, weights, acts, precisions)
        ends.append(len(payloads) - 1)
    got, taken = [], []

    async def drive(ctx):
        cycle = 0
        rng = random.Random(seed)
        for k, payload in enumerate(payloads):
            while rng.random() < gaps:
                ctx.set(dut.step.valid, 0)
                await ctx.tick()
                cycle += 1
            ctx.set(dut.step.payload, payload)
            ctx.set(dut.step.valid, 1)
            for _ in range(1000):
                _, _, ready = await ctx.tick().sample(dut.step.ready)
                cycle += 1
                if ready:
                    taken.append(cycle - 1)
                    break
            else:
                raise AssertionError(f"step {k} not taken within 1000 cycles")
        ctx.set(dut.step.valid, 0)
        for _ in range(200 + 50 * len(products)):
            if len(got) == len(products):
                break
            await ctx.tick()

    simulate(dut, drive, background=[collector(dut.result, got, stalls=stalls, seed=seed + 1)])
    results = [(cycle, [[int(payload[f][w]) for w in range(dut.windows)] for f in range(dut.filters)])
               for cycle, payload in got]
    return results, [taken[e] for e in ends], taken


def random_product(rng: torch.Generator, dut: StripesArray, K: int, precisions=None):
    bricks = -(-K // dut.lanes)
    if precisions is None:
        precisions = torch.randint(1, dut.max_precision + 1, (bricks,), generator=rng).tolist()
    wmax = 1 << (dut.weight_bits - 1)
    weights = torch.randint(-wmax, wmax, (dut.filters, K), generator=rng)
    acts = torch.cat([torch.randint(0, 1 << p, (dut.windows, min(dut.lanes, K - j * dut.lanes)), generator=rng)
                      for j, p in enumerate(precisions)], dim=1)
    return weights, acts, precisions


SMALL = {"filters": 2, "windows": 3, "lanes": 4, "weight_bits": 8, "max_precision": 8, "max_length": 64}


@pytest.mark.parametrize("params", [SMALL, {**SMALL, "weight_bits": 4, "lanes": 5}], ids=["w8", "w4"])
def test_random_inner_products_with_back_pressure(params):
    """Random lengths (shorter than a brick, not a multiple of it, longest), random precision per
    brick, idle input cycles and a stalling consumer: every result exact, in order."""
    dut = StripesArray(**params)
    rng = torch.Generator().manual_seed(1)
    lengths = [1, 3, params["lanes"], 7, 13, 2, params["max_length"], 9, 1, 1]
    products = [random_product(rng, dut, K) for K in lengths]
    results, _, _ = run(dut, products, gaps=0.2, stalls=0.5, seed=3)
    assert [r for _, r in results] == [reference(w, a) for w, a, _ in products]


@pytest.mark.parametrize("p", [1, 8])
def test_precision_1_and_8_latency_and_throughput(p):
    """Every brick at precision ``p``: results exact, a step taken every cycle (no bubble between
    inner products), each result valid ``LATENCY`` cycles after its last step."""
    dut = StripesArray(**SMALL)
    rng = torch.Generator().manual_seed(p)
    products = [random_product(rng, dut, K, [p] * -(-K // dut.lanes)) for K in (4, 9, 1, 16, 5)]
    results, last_steps, taken = run(dut, products)
    assert [r for _, r in results] == [reference(w, a) for w, a, _ in products]
    assert taken == list(range(len(taken)))  # one step per cycle, from cycle 0
    assert len(taken) == sum(p * -(-w.shape[1] // dut.lanes) for w, _, _ in products)
    assert [c for c, _ in results] == [e + LATENCY for e in last_steps]


def test_extremes_reach_the_accumulator_bounds():
    """All activations ``2^P - 1`` against the most negative and the most positive weights, over
    ``max_length`` values: the two ends of the accumulator's range, which one bit less would not hold;
    zeros, the all-ones bit pattern, weight -1 and a one-value inner product around them."""
    dut = StripesArray(**SMALL)
    K, P, L = SMALL["max_length"], SMALL["max_precision"], SMALL["lanes"]
    top = (1 << P) - 1
    full = torch.full((dut.windows, K), top)
    low, high = -128 * top * K, 127 * top * K
    assert dut.width == signed_width(low, high) and low < -(1 << (dut.width - 2))
    assert high >= 1 << (dut.width - 2)
    mixed_w = torch.tensor([[-128, 127] * (K // 2), [127, -128] * (K // 2)])
    products = [
        (torch.full((dut.filters, K), -128), full, [P] * (K // L)),
        (torch.full((dut.filters, K), 127), full, [P] * (K // L)),
        (torch.full((dut.filters, K), -1), full, [P] * (K // L)),
        (torch.zeros((dut.filters, K), dtype=torch.int64), full, [P] * (K // L)),
        (torch.full((dut.filters, K), -128), torch.zeros((dut.windows, K), dtype=torch.int64), [P] * (K // L)),
        (mixed_w, full, [P] * (K // L)),
        (torch.tensor([[-128], [127]]), torch.tensor([[top], [1], [0]]), [P]),
    ]
    results, _, _ = run(dut, products, stalls=0.3)
    want = [reference(w, a) for w, a, _ in products]
    assert [r for _, r in results] == want
    assert want[0][0][0] == low and want[1][0][0] == high


def test_equal_compute_default_array():
    """The defaults (4 filters x 1 window x 16 lanes of 8-bit weights, 512 bit products per cycle as
    the default ``hap_array``) on random bricks of precision 1..8 and the extremes."""
    dut = StripesArray()
    assert dut.bit_products == 512
    rng = torch.Generator().manual_seed(7)
    products = [random_product(rng, dut, K) for K in (40, 16, 3)]
    products.append((torch.full((4, 32), -128), torch.full((1, 32), 255), [8, 8]))
    results, _, _ = run(dut, products, stalls=0.2)
    assert [r for _, r in results] == [reference(w, a) for w, a, _ in products]


def test_parameters_are_checked():
    with pytest.raises(TypeError, match="lanes must be an integer, got 4.0"):
        StripesArray(lanes=4.0)
    with pytest.raises(ValueError, match=r"weight_bits must be in 2..16, got 1"):
        StripesArray(weight_bits=1)
    with pytest.raises(ValueError, match=r"max_precision must be in 1..16, got 0"):
        StripesArray(max_precision=0)
    with pytest.raises(ValueError, match="max_length must be >= 1, got 0"):
        StripesArray(max_length=0)


def test_real_layer_against_the_hap_integer_layer():
    """A real layer (``sim.hap.cases.REAL_LAYER``, one image, 8-bit weights in a quarter of the
    channels): Stripes at the layer's precision computes ``W Q`` over the 8-bit codes; less the
    zero-point term ``z * sum_k W`` it is the HAP integer layer ``W (Q - z)`` of ``golden.hap.layer``."""
    from golden.hap.dar import dar
    from golden.hap.layer import integer_layer
    from sim.hap.cases import real_layer

    layer = real_layer()
    codes, weights, z = layer.codes, layer.weights, layer.zero_point
    dut = StripesArray(filters=4, windows=2, max_length=codes.shape[0])
    precision = int(codes.max()).bit_length()
    bricks = -(-codes.shape[0] // dut.lanes)
    tiles = [(f, p) for f in range(0, weights.shape[0], dut.filters) for p in (0, 30)]
    products = [(weights[f:f + dut.filters], codes[:, p:p + dut.windows].T, [precision] * bricks) for f, p in tiles]
    results, _, _ = run(dut, products, stalls=0.1)
    hap = integer_layer(dar(codes, group_size=16), weights, zero_point=z)
    zero_term = z * weights.sum(dim=1)
    assert 8 in layer.bits and 4 in layer.bits and precision >= 7
    for (f, p), (_, got) in zip(tiles, results, strict=True):
        for i in range(dut.filters):
            for w in range(dut.windows):
                assert got[i][w] - int(zero_term[f + i]) == int(hap[f + i, p + w]), (f + i, p + w)


def test_equal_compute_parameters_of_the_cost_comparison():
    """``bench.hap.iso_cost`` compares arrays of equal bit products per cycle and accumulator width."""
    from bench.hap.iso_cost import hap_bit_products, hap_defaults, parts
    from hdl.hap import HapArray

    hap = hap_defaults()
    assert hap == {"rows": HapArray().rows, "cols": HapArray().cols, "acc_bits": HapArray().acc_bits}
    by_key = {part.key: part for part in parts()}
    assert dict(by_key["hap_array"].params) == dict(by_key["hap_pe_array"].params) == hap
    built = {key: StripesArray(**by_key[key].params) for key in ("stripes_w8", "stripes_w4")}
    for key in ("stripes_w8", "stripes_w4"):
        assert built[key].bit_products == hap_bit_products(hap) == hap["rows"] * hap["cols"] * 4
        assert built[key].width == hap["acc_bits"]
        assert built[key].lanes == 16 and built[key].max_precision == 8
    assert (built["stripes_w8"].weight_bits, built["stripes_w4"].weight_bits) == (8, 4)


def test_cost_comparison_merges_remeasured_parts(tmp_path):
    """``--only`` keeps the other parts of the recorded section; ratios divide Stripes by HAP."""
    from bench.hap import iso_cost
    from qaccel.results import section, write_section

    def entry(luts, fmax):
        return {"xilinx": {"luts": luts, "ffs": 2 * luts, "dsps": 0}, "ecp5": {"lut4_total": luts, "fmax_mhz": fmax}}

    every = iso_cost.parts()
    old = {"hap_array": entry(1000, 100.0), "stripes_w8": entry(250, 150.0)}
    path = tmp_path / "hap.json"
    write_section(path, iso_cost.SECTION, section(command="x", tools={}, config={}, data={"parts": old}))
    only_hap = tuple(p for p in every if p.key == "hap_array")
    assert iso_cost._kept(path, every, only_hap) == {"stripes_w8": {"command": "x", **old["stripes_w8"]}}
    assert [p.key for p in every if p.default] == ["hap_array", "stripes_w8", "stripes_w4"]
    assert iso_cost.ratios(old) == {"stripes_w8_over_hap_array": {"luts": 0.25, "ffs": 0.25, "ecp5_lut4": 0.25,
                                                                  "fmax": 1.5}}
    write_section(path, "performance", section(command="y", tools={}, config={}, data={},
                                               flat={"speedup": {"stripes": 2.5}}))
    assert iso_cost.per_cost(old, path)["throughput_per_lut_over_stripes_w8"] == 0.62  # 2.5 * 250 / 1000
    assert iso_cost.per_cost({"hap_array": old["hap_array"]}, path) is None
