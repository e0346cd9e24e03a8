"""The SBQ scheme in the real-network plumbing: registered, validated, exact at a full budget."""

import pytest
import torch
from torch import nn

from golden import quant
from golden.sbq import SBQScheme, dot_matrix


def _tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))


def _calibrate(model):
    torch.manual_seed(1)
    with torch.no_grad():
        model(torch.randn(8, 2, 5, 5))


def test_registered_with_options():
    scheme = quant.get_scheme("sbq", budget=2)
    assert isinstance(scheme, SBQScheme)
    assert (scheme.budget, scheme.comp, scheme.depth, scheme.wbits, scheme.abits) == (2, 2, 4, 4, 8)
    assert scheme.label == "sbq[B=2,C=2,D=4]"
    assert "sbq" in quant.scheme_names()


@pytest.mark.parametrize("options", [{"abits": 4}, {"asymmetric": True}, {"wbits": 2}, {"budget": 0}, {"comp": -1}])
def test_rejects_impossible_options(options):
    with pytest.raises(ValueError):
        SBQScheme(**options)


def test_full_budget_equals_w4a8_and_small_budget_differs():
    x = torch.randn(4, 2, 5, 5, generator=torch.Generator().manual_seed(2))
    base = quant.quantize_model(_tiny_model(), quant.get_scheme("uniform", wbits=4, abits=8), _calibrate)
    full = quant.quantize_model(_tiny_model(), SBQScheme(budget=16, comp=0), _calibrate)
    tight = quant.quantize_model(_tiny_model(), SBQScheme(budget=1, comp=0), _calibrate)
    with torch.no_grad():
        assert torch.equal(full(x), base(x))  # every pair computed: the exact W4A8 integer dot
        assert not torch.equal(tight(x), base(x))


def test_int_dot_is_the_sbq_dot():
    g = torch.Generator().manual_seed(3)
    a = torch.randint(-128, 128, (5, 40), generator=g)
    w = torch.randint(-8, 8, (3, 40), generator=g)
    scheme = SBQScheme(budget=3, comp=2, depth=2)
    assert torch.equal(scheme.int_dot(a, w), dot_matrix(a, w, 3, 2, 2, lanes=16))
