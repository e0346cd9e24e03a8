"""Which cocotb testbench verifies each registered design, collected from every accelerator.

Each accelerator of :data:`qaccel.ACCELERATORS` declares ``BENCHES`` (design name -> cocotb module)
in ``sim/<acc>/__init__.py``; ``tests/test_layout.py`` checks that every registered design has one.
"""

from __future__ import annotations

import importlib

from qaccel import ACCELERATORS

__all__ = ["benches"]


def benches() -> dict[str, str]:
    """Design name -> cocotb testbench module, over all accelerators."""
    found: dict[str, str] = {}
    for accelerator in ACCELERATORS:
        module = importlib.import_module(f"{__package__}.{accelerator}")
        for design, bench in getattr(module, "BENCHES").items():
            if design in found:
                raise RuntimeError(f"design {design!r} has two testbenches")
            found[design] = bench
    return found
