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


def _fake_repository(root):
    """A repository with a default run of two tests that both read ``sim/fake/value.txt``."""
    (root / "sim" / "fake").mkdir(parents=True)
    (root / "conftest.py").write_text("def pytest_addoption(parser):\n    parser.addoption('--sim')\n")
    (root / "sim" / "fake" / "value.txt").write_text("value 1\nunused 1\n")
    (root / "sim" / "fake" / "test_fake.py").write_text(
        "from pathlib import Path\n\n"
        "def _value():\n    return Path(__file__).with_name('value.txt').read_text().split()[1]\n\n"
        "def test_one():\n    assert _value() == '1'\n\n"
        "def test_two():\n    assert _value() == '1'\n")


@pytest.mark.parametrize("first, jobs, failed", [(False, 0, 2), (True, 0, 1), (True, 1, None)])
def test_run_mutant_records_the_failing_tests(tmp_path, first, jobs, failed):
    """``failed``: how many tests the record names (None: any; pytest-xdist, whose stopped run exits 2)."""
    from sim.mutants import run_mutant

    pristine, work = tmp_path / "pristine", tmp_path / "work"
    _fake_repository(pristine)
    _fake_repository(work)
    caught = run_mutant(Mutant("value_2", "sim/fake/value.txt", "value 1", "value 2", "wrong value"),
                        pristine, work, "fake", "icarus", jobs, first=first)
    assert caught["caught"] and caught["first_failure_only"] is first
    assert len(caught["failed"]) == failed if failed else caught["failed"]
    assert (work / "sim" / "fake" / "value.txt").read_text() == "value 1\nunused 1\n"  # restored
    survived = run_mutant(Mutant("unused_2", "sim/fake/value.txt", "unused 1", "unused 2", "dead text"),
                          pristine, work, "fake", "icarus", jobs, first=first)
    assert not survived["caught"] and survived["failed"] == []
