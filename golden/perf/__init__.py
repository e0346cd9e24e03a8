"""Cycle models of the bit-serial and bit-sparse accelerators HAP is compared with, at ISO compute.

Modules: :mod:`~golden.perf.iso` (the equal-compute budget: 512 8-bit multiplier equivalents, and
each design's processing elements), :mod:`~golden.perf.stripes` (Stripes, MICRO 2016),
:mod:`~golden.perf.shapeshifter` (ShapeShifter, MICRO 2019), :mod:`~golden.perf.bitwave` (BitWave,
HPCA 2024), :mod:`~golden.perf.hap` (HAP's exact array model, :mod:`golden.hap.cycles`, on several
arrays) and :mod:`~golden.perf.compare` (``python -m golden.perf.compare``: the comparison on the
real layers, not imported here).
"""

from . import bitwave, hap, iso, shapeshifter, stripes

__all__ = ["bitwave", "hap", "iso", "shapeshifter", "stripes"]
