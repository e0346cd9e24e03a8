"""Results files (``docs/results/<name>.json``): one shape for every accelerator and every command.

A results file is a JSON object of *sections* and *flat keys*. A section is what one command
measured, and always holds the same four keys, plus an optional fifth:

* ``command``: the command line that produced it, run from the repository root;
* ``tools``: the versions of the tools and packages involved;
* ``config``: what was measured (parameters, models, flows);
* ``data``: the measurements;
* ``flat`` (optional): a few headline figures by name (``ipu_luts``, ``ipu_fmax_mhz``, ...).

The top-level flat keys are the union of every section's ``flat``. They are rebuilt by
:func:`write_section` on every write, so they can never drift from their section, and no tool
writes a flat key by hand. A flat key owned by two sections is an error.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["SECTION_KEYS", "section", "write_section", "read_section", "print_section", "package_versions",
           "command_line"]

SECTION_KEYS = ("command", "tools", "config", "data")


def section(*, command: str, tools: dict, config: dict, data: dict, flat: dict | None = None) -> dict:
    """A results section; ``flat`` holds the headline figures copied to the top level."""
    for name, value in (("tools", tools), ("config", config), ("data", data), ("flat", flat or {})):
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    if not isinstance(command, str) or not command:
        raise ValueError("command must be the non-empty command line that produced the section")
    out = {"command": command, "tools": tools, "config": config, "data": data}
    if flat:
        out["flat"] = dict(flat)
    return out


def _check_section(name: str, value) -> None:
    if not isinstance(value, dict) or any(key not in value for key in SECTION_KEYS):
        raise ValueError(f"section {name!r} must hold {', '.join(SECTION_KEYS)}")
    extra = set(value) - {*SECTION_KEYS, "flat"}
    if extra:
        raise ValueError(f"section {name!r} has unknown keys {sorted(extra)}")


def _sections(document: dict) -> dict:
    """The sections of a results document, checked: its keys that are not a section's flat key (a
    flat figure may itself be a dict, ``{"49": ..., "196": ...}``). Anything else at the top level
    that is no section is an error."""
    flat = {key for value in document.values() if isinstance(value, dict) and "command" in value
            for key in value.get("flat", {})}
    found = {key: value for key, value in document.items() if key not in flat}
    for key, value in found.items():
        _check_section(key, value)
    return found


def _flat(sections: dict) -> dict:
    flat, owner = {}, {}
    for name, value in sections.items():
        for key, figure in value.get("flat", {}).items():
            if key in sections:
                raise ValueError(f"flat key {key!r} of section {name!r} is also a section name")
            if key in owner:
                raise ValueError(f"flat key {key!r} is produced by both {owner[key]!r} and {name!r}")
            owner[key] = name
            flat[key] = figure
    return flat


def read_section(path: str | Path, name: str) -> dict:
    """Section ``name`` of the results file ``path`` (``KeyError`` when it has none)."""
    document = json.loads(Path(path).read_text())
    sections = _sections(document)
    if name not in sections:
        raise KeyError(f"{path} has no section {name!r} (sections: {', '.join(sections) or 'none'})")
    return sections[name]


def print_section(path: str | Path, name: str, render, *, data_only: bool = True) -> int:
    """A command's ``--table``: print ``render`` of section ``name`` of ``path`` (of its ``data`` when
    ``data_only``) and return 0, or print one error line to stderr and return 2 when the file or the
    section is missing or unreadable."""
    try:
        found = read_section(path, name)
        print(render(found["data"] if data_only else found))
    except (OSError, KeyError, ValueError) as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    return 0


def write_section(path: str | Path, name: str, value: dict) -> dict:
    """Replace section ``name`` of ``path`` (created if missing), keep the other sections, rebuild the
    flat keys, and write atomically. Returns the whole document."""
    _check_section(name, value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Studies of one accelerator may run side by side (accuracy and cost): one writer at a time, each
    # reading the sections the others wrote.
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        document = json.loads(path.read_text()) if path.exists() else {}
        sections = _sections(document)
        sections[name] = value
        document = {**sections, **_flat(sections)}
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(document, indent=2) + "\n")
        partial.replace(path)
    return document


def package_versions(*dists: str) -> dict[str, str]:
    """``python`` and the installed version of each distribution (``"not installed"`` when absent)."""
    versions = {"python": platform.python_version()}
    for dist in dists:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def command_line(prog: str, argv: list[str]) -> str:
    """``prog`` followed by ``argv``, quoted as a shell would need it."""
    return " ".join([prog, *(shlex.quote(arg) for arg in argv)])
