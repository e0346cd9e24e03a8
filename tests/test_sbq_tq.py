"""TQ (term quantization, the SBQ paper's baseline): the encodings, the group selection against its
sequential definition, and the scheme in the real-network plumbing."""

import pytest
import torch

from golden import quant, schemes
from golden.sbq import tq
from golden.sbq.tq import TQScheme, encode_terms, term_count_table, term_quantize, term_quantize_reference
from tiny_nets import outputs


def test_hese_and_binary_terms():
    assert encode_terms(0) == []
    assert encode_terms(1) == [(1, 0)]
    assert encode_terms(7) == [(1, 3), (-1, 0)]  # 8 - 1
    assert encode_terms(110) == [(1, 7), (-1, 5), (1, 4), (-1, 1)]  # 0b1101110 = 128 - 32 + 16 - 2
    assert encode_terms(27) == [(1, 5), (-1, 3), (1, 2), (-1, 0)]  # runs 11 and 11
    assert encode_terms(5) == [(1, 2), (1, 0)]  # single bits stay
    assert encode_terms(128) == [(1, 7)]
    assert encode_terms(7, "binary") == [(1, 2), (1, 1), (1, 0)]
    for enc in tq.ENCODINGS:
        for m in range(0, 1 << 12):
            terms = encode_terms(m, enc)
            assert sum(d << e for d, e in terms) == m
            assert all(a[1] > b[1] for a, b in zip(terms, terms[1:]))  # strictly decreasing exponents


def test_vectorized_table_equals_bitwise_definition():
    for enc in tq.ENCODINGS:
        planes = tq._digit_planes(enc)
        for m in list(range(0, 4096)) + [tq.MAX_ABS - 1, tq.MAX_ABS]:
            row = [(int(planes[m, e]), e) for e in range(planes.shape[1] - 1, -1, -1) if planes[m, e]]
            assert row == encode_terms(m, enc), m
    # int8 magnitudes 0..128: HESE needs at most 5 terms (e.g. 0b1011011 = 91), binary 7
    assert int(term_count_table("hese", 128).max()) == 5 and len(encode_terms(91)) == 5
    assert int(term_count_table("binary", 128).max()) == 7


def _check(x, group, budget, expected, encoding="hese"):
    x = torch.tensor(x)
    want = torch.tensor(expected)
    assert torch.equal(term_quantize(x, group, budget, encoding), want)
    assert torch.equal(term_quantize_reference(x, group, budget, encoding), want)


def test_hand_written_cases():
    # one group of 4: terms 64 (of 64), 32, 2 (of 34 = 32 + 2), 8, -1 (of 7 = 8 - 1), 1 (of 1)
    _check([[64, 34, 7, 1]], 4, 1, [[64, 0, 0, 0]])
    _check([[64, 34, 7, 1]], 4, 2, [[64, 32, 0, 0]])
    _check([[64, 34, 7, 1]], 4, 3, [[64, 32, 8, 0]])  # 7 keeps its +8, loses its -1
    # exponent 1 of 34 vs exponent 0 of 7's -1 and of 1: 2 first, then ties at 2**0 by position
    _check([[64, 34, 7, 1]], 4, 4, [[64, 34, 8, 0]])
    _check([[64, 34, 7, 1]], 4, 5, [[64, 34, 7, 0]])
    _check([[64, 34, 7, 1]], 4, 6, [[64, 34, 7, 1]])
    # ties: equal powers of two go to the earlier value, whatever the signs
    _check([[4, -4, 4, -4]], 4, 2, [[4, -4, 0, 0]])
    _check([[-4, 4, 4, -4]], 4, 3, [[-4, 4, 4, 0]])
    _check([[3, 3]], 2, 3, [[3, 4]])  # 3 = 4 - 1 twice: both +4 first, then the first -1
    # negatives are sign-magnitude: -7 = -(8 - 1); -128 is one term
    _check([[-7, 0]], 2, 1, [[-8, 0]])
    _check([[-128, 127]], 2, 1, [[-128, 0]])
    _check([[-128, 127]], 2, 2, [[-128, 128]])  # 127 = 128 - 1, its 128 comes after -128's (position)
    _check([[-128, -128, -128]], 3, 2, [[-128, -128, 0]])
    # zeros have no terms; an all-zero group stays zero
    _check([[0, 0, 0, 0], [0, 5, 0, 0]], 4, 1, [[0, 0, 0, 0], [0, 4, 0, 0]])
    # groups are independent, a short last group is padded with zeros
    _check([[64, 1, 64, 1, 3]], 2, 1, [[64, 0, 64, 0, 4]])
    # budget larger than the terms available: unchanged
    _check([[110, -91, 0, -128, 1]], 5, 100, [[110, -91, 0, -128, 1]])
    # binary encoding: 7 = 4 + 2 + 1, 6 = 4 + 2: both 4s, then the first 2
    _check([[7, 6]], 2, 3, [[6, 4]], "binary")
    _check([[7, 6]], 2, 3, [[8, 6]])  # HESE: 7 = 8 - 1, 6 = 8 - 2: both 8s, then 6's -2
    # other leading dimensions are independent rows
    _check([[[8, 8]], [[1, 1]]], 2, 1, [[[8, 0]], [[1, 0]]])


@pytest.mark.parametrize("bad", [0, -1])
def test_budget_and_group_refused(bad):
    x = torch.tensor([[1, 2]])
    with pytest.raises(ValueError, match=r"^TQ budget must be >= 1 term per group, got " + str(bad) + "$"):
        term_quantize(x, 2, bad)
    with pytest.raises(ValueError, match=r"^TQ budget must be >= 1 term per group, got " + str(bad) + "$"):
        term_quantize_reference(x, 2, bad)
    with pytest.raises(ValueError, match=r"^TQ group must be >= 1, got " + str(bad) + "$"):
        term_quantize(x, bad, 2)


def test_bad_inputs_refused():
    with pytest.raises(TypeError, match="integer codes"):
        term_quantize(torch.tensor([1.0]), 1, 1)
    with pytest.raises(ValueError, match="encoding must be one of hese, binary"):
        term_quantize(torch.tensor([1]), 1, 1, "booth")
    with pytest.raises(ValueError, match=r"within \+-65536"):
        term_quantize(torch.tensor([1 << 17]), 1, 1)
    with pytest.raises(TypeError, match="budget must be an integer"):
        term_quantize(torch.tensor([1]), 1, 1.5)
    assert term_quantize(torch.zeros(3, 0, dtype=torch.int64), 8, 4).shape == (3, 0)


@pytest.mark.parametrize("encoding", tq.ENCODINGS)
@pytest.mark.parametrize("group, budget", [(1, 1), (1, 3), (2, 3), (3, 4), (8, 8), (8, 16), (8, 32), (16, 7)])
def test_random_vectorized_equals_reference(encoding, group, budget):
    g = torch.Generator().manual_seed(group * 100 + budget)
    for hi in (8, 128, 1 << 12):
        x = torch.randint(-hi, hi + 1, (12, 29), generator=g)
        x[0, :5] = 0
        x[1, :3] = -128
        got = term_quantize(x, group, budget, encoding)
        assert torch.equal(got, term_quantize_reference(x, group, budget, encoding)), (hi, group, budget)
        # never more than `budget` terms per group, magnitudes never grow past the next power of two
        assert (got.abs() <= 2 * x.abs()).all()


def test_terms_kept_per_group_never_exceed_budget():
    g = torch.Generator().manual_seed(7)
    x = torch.randint(-128, 128, (64, 64), generator=g)
    for budget in (1, 5, 16):
        q = term_quantize(x, 8, budget)
        counts = term_count_table("hese", 128)[q.abs()].reshape(64, 8, 8).sum(-1)
        assert int(counts.max()) <= budget


# ------------------------------------------------------------------------------------------------
# the scheme


def test_registered_with_options():
    scheme = schemes.get_scheme("tq", wterms=2)
    assert isinstance(scheme, TQScheme)
    assert (scheme.wterms, scheme.aterms, scheme.group, scheme.wbits, scheme.abits) == (2, 4, 8, 8, 8)
    assert scheme.label == "tq[2/4,g=8,W8A8,hese]"
    assert scheme.config()["weight_budget"] == 16 and scheme.config()["act_budget"] == 32
    assert "tq" in schemes.scheme_names()


@pytest.mark.parametrize("options", [{"abits": 4}, {"asymmetric": True}, {"wbits": 2}, {"wterms": 0},
                                     {"aterms": 0}, {"group": 0}, {"encoding": "booth"}])
def test_rejects_impossible_options(options):
    with pytest.raises(ValueError):
        TQScheme(**options)


def test_large_budget_equals_base_and_small_budget_differs():
    x = torch.randn(4, 2, 5, 5, generator=torch.Generator().manual_seed(2))
    base = outputs(schemes.get_scheme("uniform", wbits=8, abits=8), x)
    assert torch.equal(outputs(TQScheme(wterms=8, aterms=8), x), base)  # at most 5 HESE terms per int8 value: nothing dropped
    assert not torch.equal(outputs(TQScheme(wterms=1, aterms=1), x), base)


def test_int_dot_and_weights_are_term_quantized():
    g = torch.Generator().manual_seed(3)
    a = torch.randint(-128, 128, (5, 40), generator=g)
    w = torch.randn(3, 40, generator=g)
    scheme = TQScheme(wterms=2, aterms=1, group=8)
    wq = scheme.quantize_weight(w)
    base = quant.UniformScheme(8, 8).quantize_weight(w)
    assert torch.equal(wq.codes, term_quantize(base.codes, 8, 16)) and torch.equal(wq.scale, base.scale)
    assert torch.equal(scheme.int_dot(a, wq.codes), term_quantize(a, 8, 8) @ wq.codes.T)
