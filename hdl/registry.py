"""The registry of generatable designs, collected from every accelerator of :data:`qaccel.ACCELERATORS`.

Each accelerator declares ``DESIGNS`` (a list of :class:`hdl.design.Design`) in
``hdl/<acc>/__init__.py``; this module imports those packages by name. They never import this
module, so imports run one way. Every tool (``hdl.generate``, the simulation harness, ``bench.cost``)
finds designs here.
"""

from __future__ import annotations

import dataclasses
import importlib
from functools import lru_cache

from qaccel import ACCELERATORS

from .design import Design

__all__ = ["designs", "get_design"]


@lru_cache(maxsize=1)
def _collect() -> tuple[Design, ...]:
    found: dict[str, Design] = {}
    for accelerator in ACCELERATORS:
        module = importlib.import_module(f"{__package__}.{accelerator}")
        for design in getattr(module, "DESIGNS"):
            if not isinstance(design, Design):
                raise TypeError(f"hdl.{accelerator}.DESIGNS holds {design!r}, not a Design")
            if design.name in found:
                raise RuntimeError(f"design {design.name!r} registered twice")
            found[design.name] = dataclasses.replace(design, accelerator=accelerator)
    return tuple(found.values())


def designs() -> dict[str, Design]:
    """All registered designs, by name, in the order of the accelerator table."""
    return {design.name: design for design in _collect()}


def get_design(name: "str | Design") -> Design:
    """The registered design ``name``; a :class:`Design` given as it is (designs outside the
    accelerators, such as a board's system, are not registered but build the same way)."""
    if isinstance(name, Design):
        return name
    table = designs()
    if name not in table:
        raise ValueError(f"unknown design {name!r} (designs: {', '.join(table)})")
    return table[name]
