"""The registry of generatable designs: name, parameters (type, default, allowed values) and builder.

Every tool (the ``hdl.generate`` CLI, the simulation harness, benchmarks) finds designs here, so a
design is added in exactly one place: its subpackage's ``DESIGNS`` list, collected below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Param", "Design", "designs", "get_design"]


@dataclass(frozen=True)
class Param:
    """One integer design parameter with either a set of choices or an inclusive range."""

    name: str
    default: int
    help: str
    choices: tuple[int, ...] | None = None
    min: int | None = None
    max: int | None = None

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        lo = "" if self.min is None else str(self.min)
        hi = "" if self.max is None else str(self.max)
        return f"an integer in [{lo}, {hi}]" if lo and hi else f"an integer >= {lo}"

    def validate(self, value: Any) -> int:
        """Return ``value`` as an int, or raise ``ValueError`` naming what is allowed."""
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value, 0) if isinstance(value, str) else int(value)
            if isinstance(value, float) and value != number:
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}") from None
        ok = (self.choices is None or number in self.choices) and (
            (self.min is None or number >= self.min) and (self.max is None or number <= self.max)
        )
        if not ok:
            raise ValueError(f"{self.name} must be {self.allowed()}, got {number}")
        return number


@dataclass(frozen=True)
class Design:
    """A generatable design. ``build(**params)`` returns an Amaranth ``wiring.Component``.

    ``check(params)`` validates relations between parameters (raise ``ValueError``); the top module
    of the generated Verilog is named after the design.
    """

    name: str
    summary: str
    build: Callable[..., Any]
    params: tuple[Param, ...] = ()
    check: Callable[[dict[str, int]], None] | None = field(default=None, compare=False)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        names = ", ".join(p.name for p in self.params) or "none"
        raise ValueError(f"{self.name} has no parameter {name!r} (parameters: {names})")

    def resolve(self, given: dict[str, Any] | None = None) -> dict[str, int]:
        """Defaults overridden by ``given``, every value validated."""
        given = dict(given or {})
        for name in given:
            self.param(name)
        values = {p.name: p.validate(given.get(p.name, p.default)) for p in self.params}
        if self.check is not None:
            self.check(values)
        return values

    def elaborate(self, given: dict[str, Any] | None = None):
        values = self.resolve(given)
        return self.build(**values), values


def designs() -> dict[str, Design]:
    """All registered designs, by name, in registration order."""
    from .sbq import DESIGNS as sbq_designs

    found: dict[str, Design] = {}
    for design in (*sbq_designs,):
        if design.name in found:
            raise RuntimeError(f"design {design.name!r} registered twice")
        found[design.name] = design
    return found


def get_design(name: str) -> Design:
    table = designs()
    if name not in table:
        raise ValueError(f"unknown design {name!r} (designs: {', '.join(table)})")
    return table[name]
