"""What a cost run measures: the parts of an accelerator, the ratios between them, the paper's figures.

Each accelerator declares ``COST = CostPlan(...)`` in ``bench/<acc>/__init__.py``; ``python -m
bench.cost`` collects it (see :mod:`bench.cost`). A part is either a registered design (built with
``hdl.registry.get_design(name).build(params)``) or a sub-component named ``"module:Class"`` and
built with keyword parameters. Either way the component's constructor validates the values, and an
import error or a missing class raises: a plan never degrades into a partial result.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hdl.registry import get_design

__all__ = ["CostPart", "CostPlan", "FLOWS"]

#: Synthesis flows whose counts a ratio may divide: 7-series LUTs, ECP5 LUT4s, CMOS transistors.
FLOWS = ("xilinx", "ecp5", "cmos")


def _frozen(mapping: dict | None) -> MappingProxyType:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class CostPart:
    """One measured part: ``key`` names it in the results (``<key>_luts``, ...), ``what`` says what it is.

    Exactly one of ``design`` (a registered design name) and ``component`` (``"module:Class"``) is
    given. ``params`` are the constructor's keyword arguments (a design fills in its defaults for
    the others). ``quick`` overrides some of them for ``--quick`` (the cheapest useful size).
    ``default`` False keeps the part out of a run unless ``--only`` names it. ``fmax_proxy`` names
    the part whose Fmax stands in when nextpnr runs past its time limit on this one.
    ``ecp5_dsp`` lets ``synth_ecp5`` map multipliers to MULT18X18D blocks (by default ``-nodsp``:
    yosys would map even a 2 x 2-bit product to one); the 7-series flow always infers DSP48E1s.
    """

    key: str
    what: str
    design: str | None = None
    component: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)
    default: bool = True
    fmax_proxy: str | None = None
    ecp5_dsp: bool = False

    def __post_init__(self):
        if (self.design is None) == (self.component is None):
            raise ValueError(f"part {self.key}: give exactly one of design= and component=")
        if self.component is not None and self.component.count(":") != 1:
            raise ValueError(f"part {self.key}: component must read 'module:Class', got {self.component!r}")
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "quick", _frozen(self.quick))

    def source(self) -> dict[str, str]:
        """Where the part comes from, as recorded in the results: ``{"design": ...}`` or ``{"component": ...}``."""
        return {"design": self.design} if self.design is not None else {"component": self.component}

    def build(self, quick: bool = False) -> tuple[Any, dict[str, Any]]:
        """``(component, params)``: a fresh component and every parameter it was built with."""
        params = {**self.params, **(self.quick if quick else {})}
        if self.design is not None:
            return get_design(self.design).build(params)
        module_name, class_name = self.component.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(**params), params


@dataclass(frozen=True)
class CostPlan:
    """The parts of one accelerator and what the results compare.

    ``ratios`` maps a name to ``(numerator key, denominator key)``: the parts' 7-series LUTs, or
    ``(numerator key, denominator key, "ecp5")`` for ECP5 LUT4s, ``(..., "cmos")`` for transistors. ``paper`` holds the figures the
    docs compare with; a paper figure named like a ratio is the paper's value of that ratio.
    ``config`` describes the configuration the plan measures.
    """

    parts: tuple[CostPart, ...]
    ratios: dict[str, tuple[str, ...]] = field(default_factory=dict)
    paper: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "parts", tuple(self.parts))
        keys = [part.key for part in self.parts]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"part keys used twice: {', '.join(repeated)}")
        for part in self.parts:
            if part.fmax_proxy is not None and part.fmax_proxy not in keys:
                raise ValueError(f"part {part.key}: unknown fmax_proxy {part.fmax_proxy!r}")
        ratios = {}
        for name, spec in self.ratios.items():
            if len(spec) not in (2, 3) or (*spec, "xilinx")[2] not in FLOWS:
                raise ValueError(f"ratio {name}: expected (numerator, denominator[, flow in {FLOWS}]), got {spec!r}")
            numerator, denominator, flow = (*spec, "xilinx")[:3]
            for key in (numerator, denominator):
                if key not in keys:
                    raise ValueError(f"ratio {name}: unknown part {key!r}")
            ratios[name] = (numerator, denominator, flow)
        object.__setattr__(self, "ratios", _frozen(ratios))
        object.__setattr__(self, "paper", _frozen(self.paper))
        object.__setattr__(self, "config", _frozen(self.config))
