# amaranth: UnusedElaboratable=no
"""A generatable design: a name, its component class and the constructor parameters users may set.

Accelerators list their designs as ``DESIGNS = [Design(...), ...]`` in ``hdl/<acc>/__init__.py``;
:mod:`hdl.registry` collects them. A design holds no parameter ranges of its own: the component's
keyword-only constructor validates every value (``TypeError``/``ValueError``) and gives the
defaults, so a rule is written once, where the hardware is built.

(The first line silences Amaranth's "created but never used" warning for components built here:
the only ones never elaborated are those whose constructor rejected a value.)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Design"]


@dataclass(frozen=True)
class Design:
    """``component(**values)`` builds the design; ``params`` maps each exposed keyword parameter of
    the constructor to its help text (meaning and allowed values, in words).

    ``accelerator`` is filled in by :mod:`hdl.registry`. The top module of the generated Verilog is
    named after the design.
    """

    name: str
    component: type
    summary: str
    params: dict[str, str] = field(default_factory=dict)
    accelerator: str = ""

    def __post_init__(self):
        signature = inspect.signature(self.component)
        for name in self.params:
            parameter = signature.parameters.get(name)
            if parameter is None or parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"design {self.name}: {self.component.__name__} has no keyword-only parameter {name!r}")
            if not isinstance(parameter.default, int) or isinstance(parameter.default, bool):
                raise TypeError(f"design {self.name}: parameter {name!r} needs an integer default")

    def defaults(self) -> dict[str, int]:
        """The constructor's default of every exposed parameter."""
        signature = inspect.signature(self.component)
        return {name: signature.parameters[name].default for name in self.params}

    def values(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """The defaults overridden by ``given``; ``ValueError`` for a parameter the design has not."""
        given = dict(given or {})
        for name in given:
            if name not in self.params:
                known = ", ".join(self.params) or "none"
                raise ValueError(f"{self.name} has no parameter {name!r} (parameters: {known})")
        return {**self.defaults(), **given}

    def build(self, given: dict[str, Any] | None = None):
        """``(component, values)``; the constructor raises for a value it does not accept."""
        values = self.values(given)
        return self.component(**values), values
