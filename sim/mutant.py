"""One planted bug: a textual change to one file of the repository (see :mod:`sim.mutants`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mutant", "apply"]


@dataclass(frozen=True)
class Mutant:
    """One planted bug: in ``path`` (relative to the repository), ``old`` (found exactly once)
    becomes ``new``. ``name`` is a short identifier, ``bug`` says what it stands for."""

    name: str
    path: str
    old: str
    new: str
    bug: str


def apply(mutant: Mutant, root: Path) -> None:
    """Apply ``mutant`` to the copy of the repository at ``root`` (ValueError when it does not apply)."""
    path = root / mutant.path
    text = path.read_text()
    found = text.count(mutant.old)
    if found != 1:
        raise ValueError(f"mutant {mutant.name}: its text occurs {found} times in {mutant.path}, not once")
    path.write_text(text.replace(mutant.old, mutant.new))
