"""The SBQ golden term encoder: paper figures and exact reconstruction, from the model itself."""

import pytest
import torch

from golden.sbq import decode, encode, encode_value, fixed_slice_term_count, term_count

INT8 = torch.arange(-128, 128)


def test_average_term_count_matches_paper():
    # the SBQ paper (Ling et al., DATE 2025): 2.61 terms on average over all int8 values (2.613...), at most 4.
    counts = term_count(INT8, 8)
    assert counts.sum().item() == 669  # 669 / 256 = 2.6133
    assert round(counts.double().mean().item(), 2) == 2.61
    assert counts.max().item() == 4


def test_fixed_slicing_averages_three_terms():
    assert fixed_slice_term_count(INT8, 8).double().mean().item() == 3.0


@pytest.mark.parametrize("bits", [4, 8])
def test_every_value_reconstructs_exactly(bits):
    values = torch.arange(-(1 << (bits - 1)), 1 << (bits - 1))
    assert torch.equal(decode(*encode(values, bits)), values)


@pytest.mark.parametrize("bits", [4, 8])
def test_vectorized_equals_sequential_reference(bits):
    values = torch.arange(-(1 << (bits - 1)), 1 << (bits - 1))
    mag, off, neg, valid = encode(values, bits)
    for i, v in enumerate(values.tolist()):
        got = [
            (int(mag[i, s]), int(off[i, s]), bool(neg[i, s]))
            for s in range(bits // 2)
            if valid[i, s]
        ]
        assert got == encode_value(v, bits), v


def test_term_rules():
    mag, off, neg, valid = encode(INT8, 8)
    assert set(mag[valid].tolist()) <= {1, 2, 3}
    assert not neg[:, 1:].any(), "only the first term can be negative"
    assert torch.equal(neg[:, 0], INT8 < 0)
    invalid = ~valid
    assert not mag[invalid].any() and not off[invalid].any() and not neg[invalid].any()
    # valid slots are packed first, and offsets strictly decrease
    assert torch.equal(valid.sum(-1), valid.cumprod(-1).sum(-1))
    later = valid[:, 1:]
    assert (off[:, :-1][later] > off[:, 1:][later]).all()


def test_worked_examples():
    assert encode_value(110, 8) == [(3, 5, False), (3, 2, False), (2, 0, False)]
    assert encode_value(-1, 8) == [(1, 0, True)]
    assert encode_value(-128, 8) == [(2, 6, True)]
    assert encode_value(-3, 8) == [(2, 1, True), (1, 0, False)]  # -4 + 1
    assert encode_value(127, 8) == [(3, 5, False), (3, 3, False), (3, 1, False), (1, 0, False)]
    assert encode_value(0, 8) == []


def test_keeps_shape():
    x = torch.randint(-128, 128, (3, 5, 7))
    mag, off, neg, valid = encode(x, 8)
    assert mag.shape == off.shape == neg.shape == valid.shape == (3, 5, 7, 4)
    assert torch.equal(decode(mag, off, neg, valid), x)


@pytest.mark.parametrize(
    "x, bits, message",
    [
        (torch.tensor([128]), 8, r"\[-128, 127\]"),
        (torch.tensor([-9]), 4, r"\[-8, 7\]"),
        (torch.tensor([1.0]), 8, "integer tensor"),
        (torch.tensor([1]), 6, "bits must be one of"),
    ],
)
def test_bad_input_is_rejected(x, bits, message):
    with pytest.raises(ValueError, match=message):
        encode(x, bits)
