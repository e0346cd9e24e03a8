"""The SBQ scheme in the real-network plumbing: registered, validated, exact at a full budget; the
accuracy study's command line."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from golden import schemes
from golden.sbq import SBQScheme, accuracy, dot_matrix
from tiny_nets import outputs

REPO = Path(__file__).resolve().parents[1]


def test_registered_with_options():
    scheme = schemes.get_scheme("sbq", budget=2)
    assert isinstance(scheme, SBQScheme)
    assert (scheme.budget, scheme.comp, scheme.depth, scheme.wbits, scheme.abits) == (2, 2, 4, 4, 8)
    assert scheme.label == "sbq[B=2,C=2,D=4]"
    assert "sbq" in schemes.scheme_names()


@pytest.mark.parametrize("options", [{"abits": 4}, {"asymmetric": True}, {"wbits": 2}, {"budget": 0}, {"comp": -1}])
def test_rejects_impossible_options(options):
    with pytest.raises(ValueError):
        SBQScheme(**options)


def test_full_budget_equals_w4a8_and_small_budget_differs():
    x = torch.randn(4, 2, 5, 5, generator=torch.Generator().manual_seed(2))
    base = outputs(schemes.get_scheme("uniform", wbits=4, abits=8), x)
    assert torch.equal(outputs(SBQScheme(budget=16, comp=0), x), base)  # every pair computed: the exact W4A8 integer dot
    assert not torch.equal(outputs(SBQScheme(budget=1, comp=0), x), base)


def test_int_dot_is_the_sbq_dot():
    g = torch.Generator().manual_seed(3)
    a = torch.randint(-128, 128, (5, 40), generator=g)
    w = torch.randint(-8, 8, (3, 40), generator=g)
    scheme = SBQScheme(budget=3, comp=2, depth=2)
    assert torch.equal(scheme.int_dot(a, w), dot_matrix(a, w, 3, 2, 2, lanes=16))


def test_accuracy_study_command_line(capsys):
    r = subprocess.run([sys.executable, "-m", "golden.sbq.accuracy", "--help"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("usage: python -m golden.sbq.accuracy") and "--sentences" in r.stdout
    assert accuracy.main(["--models", "nope"]) == 2  # bad input: one line, before any evaluation
    assert capsys.readouterr().err.strip() == "error: unknown model 'nope'; known: digits_cnn, minilm"
    with pytest.raises(SystemExit) as stop:
        accuracy.main(["--error-rows", "0"])
    assert stop.value.code == 2
