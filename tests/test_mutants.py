"""The planted bugs of ``python -m sim.mutants`` still apply to the current RTL (each text once)."""

import importlib

import pytest

from qaccel import ACCELERATORS
from sim.harness import ROOT
from sim.mutant import Mutant, apply

LISTS = sorted(path.parent.name for path in (ROOT / "sim").glob("*/mutants.py"))


def test_every_accelerator_with_rtl_lists_its_own():
    assert set(acc for acc in ACCELERATORS if (ROOT / "sim" / acc / "mutants.py").exists()) <= set(LISTS)
    assert "edqa" in LISTS and "pynq_z1" in LISTS


@pytest.mark.parametrize("acc", LISTS)
def test_every_planted_bug_applies_once(acc, tmp_path):
    mutants = importlib.import_module(f"sim.{acc}.mutants").MUTANTS
    assert len({m.name for m in mutants}) == len(mutants), "mutant names repeat"
    for mutant in mutants:
        copy = tmp_path / mutant.path
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text((ROOT / mutant.path).read_text())
        apply(mutant, tmp_path)
        assert copy.read_text() != (ROOT / mutant.path).read_text()


def test_a_stale_bug_is_an_error(tmp_path):
    (tmp_path / "x.py").write_text("a = 1\na = 1\n")
    with pytest.raises(ValueError, match="occurs 2 times in x.py, not once"):
        apply(Mutant("twice", "x.py", "a = 1", "a = 2", "ambiguous"), tmp_path)
    with pytest.raises(ValueError, match="occurs 0 times"):
        apply(Mutant("gone", "x.py", "b = 1", "b = 2", "gone"), tmp_path)
