"""The eDQA golden float path (`golden.edqa.model`) against Berkeley SoftFloat, an independent
IEEE-754 implementation driven through ``softfloatpy``: scales, quantization and de-quantization give
the same bits on the whole binary32 range, at the clamp limits, on exact halfway products and on
products that only the float32 rounding makes halfway."""

import functools
import random
from fractions import Fraction

import numpy as np
import pytest
import softfloatpy as sf
import torch

from golden.edqa import dequantize_channel, dequantize_layer, quantize_channel, quantize_layer, scales

RNE = sf.RoundingMode.NEAR_EVEN
FLAG = sf.ExceptionFlag
PARAMS = [(n, m) for n in (2, 3, 4, 5, 8) for m in (1, 2, 3) if m <= n]
FLT_MAX = 0x7F7FFFFF
ONE = 0x3F800000


# --- the SoftFloat reference: the oracle of these tests, not part of golden/ -----------------------


def sf32(bits: int) -> sf.Float32:
    return sf.Float32.from_bytes(bits.to_bytes(4, "big"))


def sf_bits(value: sf.Float32) -> int:
    return int.from_bytes(value.to_bytes(), "big")


def sf_exact(value: sf.Float32) -> Fraction:
    return Fraction(value.to_float())  # a float32 value is exact in a double


def pow2(e: int) -> int:
    """The bits of 2^e (normal range)."""
    return (e + 127) << 23


def is_zero_or_inf(bits: int) -> bool:
    return bits & 0x7FFFFFFF in (0, 0x7F800000)


def sf_mul(a: sf.Float32, b: sf.Float32) -> tuple[sf.Float32, bool]:
    """``a * b`` rounded to nearest even, and whether it was inexact (SoftFloat's flag)."""
    sf.set_exception_flags(0)
    product = sf.f32_mul(a, b)
    return product, sf.test_exception_flags(FLAG.INEXACT)


class SoftFloatReference:
    """Scales, quantization and de-quantization of one layer, step by step in SoftFloat."""

    def __init__(self, n: int, m: int, absmax_bits: int):
        sf.set_rounding_mode(RNE)
        assert sf.get_rounding_mode() == RNE
        self.n, self.m = n, m
        one = sf32(ONE)
        self.delta_n = sf.f32_mul(sf32(absmax_bits), sf32(pow2(-(n - 1))))
        self.delta_nm = sf.f32_mul(self.delta_n, sf32(pow2(-m)))
        self.inv_n = sf.f32_div(one, self.delta_n)
        self.inv_nm = sf.f32_div(one, self.delta_nm)

    def bits(self) -> dict[str, int]:
        return {k: sf_bits(getattr(self, k)) for k in ("delta_n", "delta_nm", "inv_n", "inv_nm")}

    def valid(self) -> bool:
        return not any(is_zero_or_inf(b) for b in self.bits().values())

    def quantize(self, x_bits: int, important: bool) -> tuple[int, int | None]:
        width = self.n + self.m if important else self.n
        lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
        p, _ = sf_mul(sf32(x_bits), self.inv_nm if important else self.inv_n)
        sf.set_exception_flags(0)
        r = sf.f32_to_i32(p, RNE, True).to_int()  # saturates to the int32 range, INVALID set
        if sf.test_exception_flags(FLAG.INVALID):
            assert abs(p.to_float()) >= 2.0**31 and (r < 0) == (p.to_float() < 0)
        else:  # the two SoftFloat roundings to an integer agree
            assert sf.f32_to_i32(sf.f32_round_to_int(p, RNE, False), RNE, True).to_int() == r
        a = min(max(r, lo), hi)
        if not important:
            return a, None
        return a >> self.m, a & ((1 << self.m) - 1)

    def dequantize(self, q: int, se: int | None) -> int:
        a = q if se is None else (q << self.m) + se
        value = sf.i32_to_f32(sf.Int32.from_int(a))
        return sf_bits(sf.f32_mul(value, self.delta_n if se is None else self.delta_nm))


@functools.lru_cache(maxsize=None)
def smallest_valid_absmax(n: int, m: int) -> int:
    """The smallest absmax bits whose scales are neither 0 nor infinite (validity grows with absmax)."""
    lo, hi = 1, FLT_MAX  # invalid, valid
    assert not SoftFloatReference(n, m, lo).valid() and SoftFloatReference(n, m, hi).valid()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if SoftFloatReference(n, m, mid).valid() else (mid, hi)
    return hi


# --- helpers ---------------------------------------------------------------------------------------


def as_float32(patterns) -> torch.Tensor:
    return torch.from_numpy(np.array(patterns, dtype=np.uint32).view(np.float32).copy())


def float_bits(t: torch.Tensor) -> list[int]:
    return (t.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF).tolist()


def finite_pattern(rng: random.Random) -> int:
    while True:
        bits = rng.getrandbits(32)
        if (bits >> 23) & 0xFF != 0xFF:
            return bits


def patterns_around(rng: random.Random, absmax_bits: int, count: int, span: int) -> list[int]:
    """Random signs and significands with exponents from ``span`` below that of absmax to 2 above."""
    e = (absmax_bits >> 23) & 0xFF
    out = []
    for _ in range(count):
        exp = min(max(e + rng.randint(-span, 2), 0), 0xFE)
        out.append((rng.getrandbits(1) << 31) | (exp << 23) | rng.getrandbits(23))
    return out


def edge_patterns(absmax_bits: int) -> list[int]:
    """Zeros, the smallest and largest subnormals and normals, absmax and its neighbours, both signs."""
    base = [0, 1, 2, 3, 0x007FFFFF, 0x00800000, ONE, FLT_MAX - 1, FLT_MAX]
    base += [absmax_bits - 1, absmax_bits, min(absmax_bits + 1, FLT_MAX), min(absmax_bits + 2, FLT_MAX)]
    return base + [b | 0x80000000 for b in base]


def check_against_reference(n: int, m: int, absmax_bits: int, patterns: list[int]) -> None:
    ref = SoftFloatReference(n, m, absmax_bits)
    absmax = as_float32([absmax_bits])[0].item()
    s = scales(n, m, absmax)
    assert {k: s.bits(k) for k in ref.bits()} == ref.bits()
    x = as_float32(patterns)
    for important in (True, False):
        q, se = quantize_channel(x, n, m, absmax, important)
        expected = [ref.quantize(b, important) for b in patterns]
        assert q.tolist() == [e[0] for e in expected], (n, m, hex(absmax_bits), important)
        assert (se is None) == (not important)
        if important:
            assert se.tolist() == [e[1] for e in expected], (n, m, hex(absmax_bits))
        v = dequantize_channel(q, se, n, m, absmax, important)
        assert v.dtype == torch.float32
        assert float_bits(v) == [ref.dequantize(*e) for e in expected], (n, m, hex(absmax_bits), important)


# --- tests -----------------------------------------------------------------------------------------


def test_reference_sees_rounding_and_flags():
    """The oracle itself: ties to even, subnormal results kept, saturation flagged as invalid."""
    ref = SoftFloatReference(4, 2, ONE)  # inv_nm = 32, inv_n = 8
    assert sf_bits(ref.inv_nm) == pow2(5) and sf_bits(ref.delta_n) == pow2(-3)
    assert [ref.quantize(b, False)[0] for b in as_float32_bits([0.0625, 0.1875, -0.0625, 0.9])] == [0, 2, 0, 7]
    product, inexact = sf_mul(sf32(1), sf32(pow2(-1)))  # smallest subnormal / 2: a tie to even (0)
    assert sf_bits(product) == 0 and inexact
    product, inexact = sf_mul(sf32(3), sf32(pow2(-1)))  # 1.5 ulp -> 2 ulp
    assert sf_bits(product) == 2 and inexact


def as_float32_bits(values) -> list[int]:
    return float_bits(torch.tensor(values, dtype=torch.float32))


@pytest.mark.parametrize("n, m", PARAMS)
def test_scales_match_softfloat(n, m):
    rng = random.Random(n * 10 + m)
    candidates = [rng.randint(1, FLT_MAX) for _ in range(150)]
    candidates += [rng.randint(1, 0x00FFFFFF) for _ in range(50)]  # subnormal and tiny normal absmax
    candidates += [smallest_valid_absmax(n, m) + d for d in (-1, 0, 1)] + [FLT_MAX, ONE]
    for bits in candidates:
        ref = SoftFloatReference(n, m, bits)
        absmax = as_float32([bits])[0].item()
        if ref.valid():
            s = scales(n, m, absmax)
            assert {k: s.bits(k) for k in ref.bits()} == ref.bits(), hex(bits)
            assert s.bits("absmax") == bits
        else:
            with pytest.raises(ValueError, match="in float32 with n_bits"):
                scales(n, m, absmax)


@pytest.mark.parametrize("n, m", PARAMS)
def test_quantization_matches_softfloat(n, m):
    rng = random.Random(1000 + n * 10 + m)
    layers = [ONE, 0x40C00000, rng.randint(0x00800000, FLT_MAX), smallest_valid_absmax(n, m), FLT_MAX]
    layers += [rng.randint(smallest_valid_absmax(n, m), smallest_valid_absmax(n, m) + (20 << 23))]  # subnormal delta_Nm
    for absmax_bits in layers:
        patterns = [finite_pattern(rng) for _ in range(1000)]  # the whole binary32 range
        patterns += [rng.getrandbits(1) << 31 | rng.getrandbits(23) for _ in range(300)]  # subnormals
        patterns += patterns_around(rng, absmax_bits, 1500, n + m + 3)  # every quantization step
        patterns += edge_patterns(absmax_bits)
        check_against_reference(n, m, absmax_bits, patterns)


@pytest.mark.slow
@pytest.mark.parametrize("n, m", PARAMS)
def test_quantization_matches_softfloat_sweep(n, m):
    rng = random.Random(5000 + n * 10 + m)
    for _ in range(25):
        absmax_bits = rng.randint(smallest_valid_absmax(n, m), FLT_MAX)
        patterns = [finite_pattern(rng) for _ in range(40000)]
        patterns += [rng.getrandbits(1) << 31 | rng.getrandbits(23) for _ in range(20000)]
        patterns += patterns_around(rng, absmax_bits, 40000, n + m + 3)
        check_against_reference(n, m, absmax_bits, patterns)


def odd_part(value: Fraction) -> int:
    num = value.numerator
    assert value.denominator & (value.denominator - 1) == 0  # a float: a power-of-two denominator
    while num % 2 == 0:
        num //= 2
    return abs(num)


def small_odd_scale_layers(n: int, m: int):
    """absmax bits whose inv_nm (hence inv_n) is M * 2^k with a small odd M."""
    found = []
    for odd in (1, 3, 5, 7, 9, 11, 13, 15, 21, 25):
        for shift in (-3, 0, 7):
            absmax_bits = as_float32_bits([2.0 ** (n + m - 1 + shift) / odd])[0]
            ref = SoftFloatReference(n, m, absmax_bits)
            if odd_part(sf_exact(ref.inv_nm)) == odd == odd_part(sf_exact(ref.inv_n)):
                found.append(absmax_bits)
    assert len(found) >= 10
    return found


@pytest.mark.parametrize("n, m", PARAMS)
def test_exact_halfway_products_round_to_even(n, m):
    parities = set()
    for absmax_bits in small_odd_scale_layers(n, m):
        ref = SoftFloatReference(n, m, absmax_bits)
        patterns = []
        for important in (True, False):
            inv = sf_exact(ref.inv_nm if important else ref.inv_n)
            odd = odd_part(inv)
            hi = 1 << (n + m - 1 if important else n - 1)
            # x = j / (2 inv) for odd j with odd | j: x * inv = j / 2 exactly, a halfway value
            for j in range(odd, 2 * hi + 4, 2 * odd):
                for sign in (1, -1):
                    x = Fraction(sign * j, 2) / inv
                    bits = as_float32_bits([float(x)])[0]
                    assert sf_exact(sf32(bits)) == x  # x is a float32
                    product, inexact = sf_mul(sf32(bits), ref.inv_nm if important else ref.inv_n)
                    assert not inexact and sf_exact(product) == Fraction(sign * j, 2)
                    half_even = round(Fraction(sign * j, 2))  # Python rounds half to even
                    assert half_even % 2 == 0
                    if -hi <= half_even < hi:
                        parities.add(((sign * j - 1) // 2) % 2)
                    assert ref.quantize(bits, important)[0] == (
                        min(max(half_even, -hi), hi - 1) >> (m if important else 0)
                    )
                    patterns.append(bits)
        check_against_reference(n, m, absmax_bits, patterns)
    assert parities == {0, 1}  # k + 0.5 with k even (rounds down) and odd (rounds up)


@pytest.mark.parametrize("n, m", PARAMS)
def test_products_rounded_to_halfway_follow_the_float32_product(n, m):
    """The float32 product is k + 0.5 though the exact product is not: rounding the float32 product
    (the definition) and rounding the exact product differ; golden and SoftFloat take the first."""
    rng = random.Random(77 + n * 10 + m)
    kinds = set()
    for _ in range(20):
        absmax_bits = rng.randint(0x3F000000, 0x42000000)  # inv with a long significand
        ref = SoftFloatReference(n, m, absmax_bits)
        patterns = []
        for important in (True, False):
            inv = ref.inv_nm if important else ref.inv_n
            hi = 1 << (n + m - 1 if important else n - 1)
            for k in sorted({-hi - 1, -1, 0, hi - 1, hi, *(rng.randint(-hi - 1, hi) for _ in range(24))}):
                target = Fraction(2 * k + 1, 2)
                start = as_float32_bits([float(target / sf_exact(inv))])[0]
                for bits in range(start - 3, start + 4):
                    product, inexact = sf_mul(sf32(bits), inv)
                    if sf_exact(product) != target or not inexact:
                        continue
                    exact = sf_exact(sf32(bits)) * sf_exact(inv)
                    a_float, a_exact = round(target), round(exact)
                    if -hi <= min(a_float, a_exact) and max(a_float, a_exact) < hi:
                        kinds.add((k % 2, exact > target, a_float != a_exact))
                    a = min(max(a_float, -hi), hi - 1)
                    assert ref.quantize(bits, important) == ((a >> m, a & ((1 << m) - 1)) if important else (a, None))
                    patterns.append(bits)
        check_against_reference(n, m, absmax_bits, patterns)
    # both parities of k, exact product above and below, and the two roundings disagreeing
    assert {(0, True, True), (1, False, True), (0, False, False), (1, True, False)} <= kinds


@pytest.mark.parametrize("n, m", PARAMS)
def test_every_integer_dequantizes_as_softfloat(n, m):
    rng = random.Random(n + 31 * m)
    for absmax_bits in (ONE, smallest_valid_absmax(n, m), FLT_MAX, rng.randint(0x00800000, FLT_MAX)):
        ref = SoftFloatReference(n, m, absmax_bits)
        absmax = as_float32([absmax_bits])[0].item()
        q = torch.arange(-(1 << (n - 1)), 1 << (n - 1))
        assert float_bits(dequantize_channel(q, None, n, m, absmax, False)) == [ref.dequantize(v, None) for v in q.tolist()]
        qq, se = torch.meshgrid(q, torch.arange(1 << m), indexing="ij")
        qq, se = qq.flatten(), se.flatten()
        want = [ref.dequantize(a, b) for a, b in zip(qq.tolist(), se.tolist())]
        assert float_bits(dequantize_channel(qq, se, n, m, absmax, True)) == want


def test_signed_zeros_and_overflow():
    x = torch.tensor([0.0, -0.0, 1e-45, -1e-45, 3.4e38, -3.4e38], dtype=torch.float32)
    q, se = quantize_channel(x, 4, 2, 1.0, True)
    assert q.tolist() == [0, 0, 0, 0, 7, -8] and se.tolist() == [0, 0, 0, 0, 3, 0]
    # x * inv_nm overflows to an infinity: clamped to the ends of the range
    tiny = as_float32([smallest_valid_absmax(4, 2)])[0].item()
    q, se = quantize_channel(torch.tensor([2.0, -2.0]), 4, 2, tiny, True)
    assert q.tolist() == [7, -8] and se.tolist() == [3, 0]
    v = dequantize_channel(torch.tensor([0, 0]), torch.tensor([0, 0]), 4, 2, 1.0, True)
    assert float_bits(v) == [0, 0]  # +0.0, never -0.0


def test_layer_equals_its_channels():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(64, 9, generator=g) * 3
    x[0, 0], x[1, 1] = 0.0, -100.0
    mask = torch.tensor([True, False, True, True, False, False, True, False, True])
    q, se = quantize_layer(x, mask, 4, 3, 4.5)
    assert q.dtype == se.dtype == torch.int64 and q.shape == se.shape == (64, 9)
    for c in range(9):
        qc, sec = quantize_channel(x[:, c], 4, 3, 4.5, bool(mask[c]))
        assert torch.equal(q[:, c], qc)
        assert torch.equal(se[:, c], sec if mask[c] else torch.zeros(64, dtype=torch.int64))
    assert int(q.min()) >= -8 and int(q.max()) <= 7 and int(se.max()) <= 7
    v = dequantize_layer(q, se, mask, 4, 3, 4.5)
    for c in range(9):
        vc = dequantize_channel(q[:, c], se[:, c] if mask[c] else None, 4, 3, 4.5, bool(mask[c]))
        assert float_bits(v[:, c]) == float_bits(vc)
    # the important channels keep m bits more: a finer grid, never a worse error inside the range
    inside = x.abs() <= 4.0
    err = (v - x).abs()
    assert float(err[:, mask][inside[:, mask]].max()) <= 4.5 / 2**7 + 1e-6  # half of delta_Nm
    assert float(err[:, ~mask][inside[:, ~mask]].max()) <= 4.5 / 2**4 + 1e-6  # half of delta_N


def test_list_input_and_ranges():
    # N=3, m=1, absmax 2: inv_nm = 4, a in [-8, 7], q in [-4, 3]
    q, se = quantize_channel([0.3, -2.0, 10.0], 3, 1, 2.0, True)
    assert q.dtype == se.dtype == torch.int64
    assert q.tolist() == [0, -4, 3] and se.tolist() == [1, 0, 1]  # a = 1, -8, 7


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: scales(4.0, 2, 1.0), TypeError, r"n_bits must be an int, got 4\.0"),
        (lambda: scales(4, True, 1.0), TypeError, r"m_extra must be an int, got True"),
        (lambda: scales(0, 1, 1.0), ValueError, r"n_bits must be at least 1, got n_bits=0"),
        (lambda: scales(4, 0, 1.0), ValueError, r"1 <= m_extra <= n_bits, got m_extra=0 with n_bits=4"),
        (lambda: scales(2, 3, 1.0), ValueError, r"1 <= m_extra <= n_bits, got m_extra=3 with n_bits=2"),
        (lambda: scales(9, 8, 1.0), ValueError, r"n_bits \+ m_extra must be at most 16, got n_bits=9, m_extra=8"),
        (lambda: scales(4, 2, 0.0), ValueError, r"positive, finite float32 value, got absmax=0\.0"),
        (lambda: scales(4, 2, -1.0), ValueError, r"got absmax=-1\.0"),
        (lambda: scales(4, 2, float("inf")), ValueError, r"got absmax=inf"),
        (lambda: scales(4, 2, float("nan")), ValueError, r"got absmax=nan"),
        (lambda: scales(4, 2, 0.1), ValueError, r"float32 value, got absmax=0\.1"),
        (lambda: scales(4, 2, "1"), TypeError, r"absmax must be a float"),
        (lambda: scales(4, 2, 2.0**-149), ValueError, r"absmax=1\.4\S* gives delta_n = 0\.0 in float32"),
        (lambda: scales(4, 2, 2.0**-126), ValueError, r"gives inv_n = inf in float32 with n_bits=4, m_extra=2"),
        (lambda: quantize_channel(torch.tensor([1.0, 2.0, float("inf")]), 4, 2, 1.0, True), ValueError, r"non-finite activation inf at index 2"),
        (lambda: quantize_channel([float("nan")], 4, 2, 1.0, False), ValueError, r"non-finite activation nan at index 0"),
        (lambda: quantize_layer(torch.tensor([[0.0, 1.0], [float("-inf"), 0.0]]), torch.tensor([True, False]), 4, 2, 1.0), ValueError, r"-inf at \(row, channel\) \(1, 0\)"),
        (lambda: quantize_channel(torch.zeros(3, dtype=torch.float64), 4, 2, 1.0, True), TypeError, r"float32 activations, got dtype torch\.float64"),
        (lambda: quantize_channel(torch.zeros(3), 4, 2, 1.0, 1), TypeError, r"important must be a bool"),
        (lambda: quantize_channel(torch.zeros(2, 2), 4, 2, 1.0, True), ValueError, r"1-D tensor"),
        (lambda: quantize_layer(torch.zeros(2, 2), torch.tensor([True]), 4, 2, 1.0), ValueError, r"important_mask must be a bool tensor of shape \(2,\)"),
        (lambda: dequantize_channel(torch.tensor([8]), None, 4, 2, 1.0, False), ValueError, r"q must lie in \[-8, 7\]"),
        (lambda: dequantize_channel(torch.tensor([1]), torch.tensor([4]), 4, 2, 1.0, True), ValueError, r"se must lie in \[0, 3\] in the important"),
        (lambda: dequantize_channel(torch.tensor([1]), torch.tensor([0]), 4, 2, 1.0, False), ValueError, r"se must be None"),
        (lambda: dequantize_channel(torch.tensor([1]), None, 4, 2, 1.0, True), ValueError, r"needs its shift errors"),
        (lambda: dequantize_channel(torch.tensor([1.0]), None, 4, 2, 1.0, False), TypeError, r"q must be an integer tensor"),
        (lambda: dequantize_layer(torch.zeros(2, 2, dtype=torch.long), torch.ones(2, 2, dtype=torch.long), torch.tensor([True, False]), 4, 2, 1.0), ValueError, r"se must lie in \[0, 0\] in the unimportant"),
        (lambda: scales(4, 2, 1.0).bits("n_bits"), ValueError, r"name must be one of"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_flushed_subnormals_are_refused():
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormals")
    try:
        with pytest.raises(RuntimeError, match="flushes subnormal"):
            scales(4, 2, 1.0)
    finally:
        torch.set_flush_denormal(False)
