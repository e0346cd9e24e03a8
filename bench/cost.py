"""Synthesis cost of an accelerator's parts or of single designs: one command for every accelerator.

    python -m bench.cost ACC [ACC ...] [--quick] [--only PART ...] [-o FILE] [--table]
    python -m bench.cost DESIGN [--PARAM VALUE ...] [-o FILE] [--table]
    python -m bench.cost DESIGN [DESIGN ...] [--table]

An accelerator target (``sbq``) runs the :class:`bench.plan.CostPlan` that ``bench/<acc>/__init__.py``
declares as ``COST`` and writes section ``cost`` of ``docs/results/<acc>.json``; ``--quick`` (the
plan's cheapest sizes, e.g. a 2-lane IPU) or ``--only`` (some parts, also those left out of the
default run) write ``build/bench/cost/<acc>_quick.json`` instead. A design target (see
``python -m hdl.generate --list``) measures that design, with ``--PARAM VALUE`` for a single one,
into ``build/bench/cost/<design>.json``. ``-o`` takes one target. ``--table`` prints the markdown
tables of a results file and synthesizes nothing.

Every part goes through the same flows (:mod:`bench.synth`, one tool at a time): yosys
``synth_xilinx`` for the 7-series (LUT, LUTRAM, FF, DSP, CARRY4, BRAM) and ``synth_ecp5 -nodsp`` +
nextpnr-ecp5 (LUT4, CCU2C, FF, Fmax), and the CMOS flow (``abc -g cmos2``, ``stat -tech cmos``: transistor
count, no PDK). The file is rewritten after every part, so an interrupted run keeps what it measured.
The flat keys are ``<part>_luts``, ``<part>_ffs``, ``<part>_dsps`` (7-series), ``<part>_fmax_mhz``
(ECP5) and ``<part>_transistors`` (CMOS) of every measured part, and every plan ratio that could be
computed.
Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from hdl.registry import designs
from qaccel import ACCELERATORS
from qaccel.results import command_line, package_versions, read_section, section, write_section

from . import synth
from .plan import CostPart, CostPlan

__all__ = ["plans", "ratio_values", "flat_keys", "measure", "markdown", "main"]

PROG = "python -m bench.cost"
SECTION = "cost"
REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "bench" / "cost"

# nextpnr's time limit per part; past it the Fmax is left out (or taken from the part's fmax_proxy).
PNR_TIMEOUT_S = 600

FLOWS = {
    "xilinx": f"yosys {synth.PREPARE}; synth_xilinx -family {synth.XILINX_FAMILY} -flatten -noiopad -noclkbuf "
              f"(7-series; intended device {synth.XILINX_PART}); luts = LUT1..LUT6 + INV",
    "ecp5": f"yosys {synth.PREPARE}; synth_ecp5 -nodsp; nextpnr-ecp5 --{synth.ECP5_DEVICE} --package "
            f"{synth.ECP5_PACKAGE} --out-of-context --freq {synth.ECP5_TARGET_MHZ} --seed {synth.ECP5_SEED} "
            "(LFE5U-85F); Fmax of the part with every port registered (bench/synth.py); luts = LUT4 cells, "
            "carry = CCU2C (2 LUT4 each)",
    "cmos": f"yosys {synth.PREPARE}; {synth.CMOS_SCRIPT.format(top='TOP')}; stat -tech cmos; transistors: NOT 2, "
            "NAND 4, NOR 4, D flip-flop 16 (enables and resets are gates in front of it)",
}


def plans() -> dict[str, CostPlan]:
    """The ``COST`` plan of every accelerator, imported from ``bench.<acc>``."""
    found = {}
    for accelerator in ACCELERATORS:
        module = importlib.import_module(f"{__package__}.{accelerator}")
        plan = getattr(module, "COST")
        if not isinstance(plan, CostPlan):
            raise TypeError(f"bench.{accelerator}.COST is {plan!r}, not a CostPlan")
        found[accelerator] = plan
    return found


def ratio_values(parts: dict, ratios: dict) -> dict:
    """``{name: numerator / denominator}`` (2 decimals) of each ratio ``{name: (num, den, flow)}``
    whose two parts are in ``parts``: LUTs for the FPGA flows, transistors for ``cmos``."""
    values = {}
    for name, (numerator, denominator, flow) in ratios.items():
        if numerator in parts and denominator in parts and flow in parts[numerator] and flow in parts[denominator]:
            figure = "transistors" if flow == "cmos" else "luts"
            num, den = parts[numerator][flow][figure], parts[denominator][flow][figure]
            values[name] = round(num / den, 2) if den else None
    return values


def flat_keys(parts: dict, ratios: dict) -> dict:
    """The headline figures of a cost section: LUTs, FFs, DSPs (7-series) and Fmax (ECP5) of every
    part, then the ratios (``ratio_values``)."""
    flat = {}
    for key, entry in parts.items():
        flat.update({
            f"{key}_luts": entry["xilinx"]["luts"],
            f"{key}_ffs": entry["xilinx"]["ffs"],
            f"{key}_dsps": entry["xilinx"]["dsps"],
            f"{key}_fmax_mhz": entry["ecp5"].get("fmax_mhz"),
        })
        if "cmos" in entry:
            flat[f"{key}_transistors"] = entry["cmos"]["transistors"]
    return {**flat, **ratio_values(parts, ratios)}


def measure(part: CostPart, component, params: dict, workdir: Path, bar: tqdm) -> dict:
    """The three flows on ``component`` (built from ``part`` with ``params``); the part's results entry."""
    entry = {"what": part.what, **part.source(), "params": params}
    bar.set_postfix_str(f"{part.key}: synth_xilinx")
    entry["xilinx"] = synth.xilinx(component, part.key, workdir=workdir)
    bar.update(1)
    bar.set_postfix_str(f"{part.key}: synth_ecp5 + nextpnr")
    try:
        entry["ecp5"] = synth.ecp5(component, part.key, workdir=workdir, nodsp=not part.ecp5_dsp,
                                   pnr_timeout=PNR_TIMEOUT_S)
    except synth.SynthError as error:
        if "ran past" not in str(error):
            raise
        entry["ecp5"] = synth.ecp5(component, part.key, workdir=workdir, nodsp=not part.ecp5_dsp, pnr=False)
        entry["ecp5"].update({"fmax_mhz": None, "pnr_timeout_s": PNR_TIMEOUT_S,
                              "pnr_note": str(error).splitlines()[0]})
    bar.update(1)
    bar.set_postfix_str(f"{part.key}: cmos transistors")
    entry["cmos"] = synth.cmos(component, part.key, workdir=workdir)
    bar.update(1)
    return entry


@dataclass(frozen=True)
class _Job:
    """One target: the plan to run, where to write it, and the run's options."""

    label: str
    plan: CostPlan
    parts: tuple[CostPart, ...]
    output: Path
    quick: bool = False
    only: tuple[str, ...] = ()


def _config(job: _Job, complete: bool) -> dict:
    ratios = {name: {"numerator": num, "denominator": den, "flow": flow}
              for name, (num, den, flow) in job.plan.ratios.items()}
    config = {**job.plan.config, **({"ratios": ratios} if ratios else {})}
    return {**config, "flows": FLOWS, "quick": job.quick, "complete": complete, "only": list(job.only) or None}


def _add_proxies(job: _Job, parts: dict) -> None:
    """Give a part without Fmax its ``fmax_proxy``'s Fmax, marked as such."""
    for part in job.parts:
        ecp5 = parts.get(part.key, {}).get("ecp5", {})
        proxy = parts.get(part.fmax_proxy, {}).get("ecp5", {}).get("fmax_mhz")
        if ecp5 and ecp5.get("fmax_mhz") is None and proxy is not None:
            ecp5.update({"fmax_proxy_mhz": proxy, "fmax_proxy": part.fmax_proxy})


def _run(job: _Job, built: list, command: str, tools: dict) -> dict:
    """Measure every part of ``job``, writing the section after each; returns the last section."""
    start, parts = time.monotonic(), {}
    with tqdm(total=3 * len(built), desc=f"{job.label} cost", unit="run") as bar:
        for n, (part, component, params) in enumerate(built):
            workdir = BUILD / f"{job.label}{'_quick' if job.quick else ''}" / part.key
            parts[part.key] = measure(part, component, params, workdir, bar)
            _add_proxies(job, parts)
            data = {"parts": parts, "ratios": ratio_values(parts, job.plan.ratios), "paper": dict(job.plan.paper),
                    "seconds": round(time.monotonic() - start, 1)}
            value = section(command=command, tools=tools, config=_config(job, n + 1 == len(built)), data=data,
                            flat=flat_keys(parts, job.plan.ratios))
            write_section(job.output, SECTION, value)
    return value


_RATIO_UNITS = {"xilinx": "7-series LUT", "ecp5": "ECP5 LUT4", "cmos": "transistors"}


def _cell(value, suffix=""):
    return "-" if value is None else f"{value}{suffix}"


def markdown(cost: dict) -> str:
    """The markdown tables of a ``cost`` section: every part, then the ratios and the paper's figures."""
    data = cost["data"]
    lines = [
        "| part | 7-series LUT | LUTRAM (LUTs) | FF | DSP | CARRY4 | ECP5 LUT4 | CCU2C | DPR16X4 | FF | Fmax (MHz) "
        "| transistors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, entry in data["parts"].items():
        x, e = entry["xilinx"], entry["ecp5"]
        fmax = _cell(e.get("fmax_mhz"))
        if e.get("fmax_mhz") is None and e.get("fmax_proxy_mhz") is not None:
            fmax = f"({e['fmax_proxy_mhz']}, {e['fmax_proxy']})"
        lines.append(f"| `{key}` | {x['luts']} | {x['lutram_luts']} | {x['ffs']} | {x['dsps']} | {x['carry']} | "
                     f"{e['luts']} | {e['carry']} | {e.get('lutram', '-')} | {e['ffs']} | {fmax} | "
                     f"{_cell(entry.get('cmos', {}).get('transistors'))} |")
    ratios = cost["config"].get("ratios", {})
    if ratios:
        lines += ["", "| ratio | numerator | denominator | of | ratio | paper |", "| --- | --- | --- | --- | ---: | ---: |"]
        for name, spec in ratios.items():
            num, den, flow = spec["numerator"], spec["denominator"], spec["flow"]
            figure = "transistors" if flow == "cmos" else "luts"
            counts = [data["parts"].get(key, {}).get(flow, {}).get(figure) for key in (num, den)]
            paper = data["paper"].get(name)
            lines.append(f"| `{name}` | `{num}` ({_cell(counts[0])}) | `{den}` ({_cell(counts[1])}) | "
                         f"{_RATIO_UNITS[flow]} | "
                         f"{_cell(data['ratios'].get(name), 'x')} | {_cell(paper, 'x')} |")
    if data["paper"]:
        lines += ["", "| paper | figure |", "| --- | ---: |"]
        for name, value in data["paper"].items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for sub, figure in items:
                lines.append(f"| `{name}{'.' + sub if sub else ''}` | {figure} |")
    return "\n".join(lines)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message):  # noqa: D102
        raise _UsageError(message)


def _parser(design_params: dict[str, str], defaults: dict[str, int]) -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0], allow_abbrev=False,
                     usage=f"{PROG} TARGET [TARGET ...] [--PARAM VALUE ...] [-o FILE] [--quick] [--only PART ...] "
                           "[--table]")
    parser.add_argument("-o", "--output", type=Path, help="results file to update (one target only)")
    parser.add_argument("--quick", action="store_true", help="the plan's cheapest sizes (e.g. a 2-lane IPU)")
    parser.add_argument("--only", nargs="+", metavar="PART", default=[],
                        help="measure only these parts of the plan, also those left out of the default run")
    parser.add_argument("--table", action="store_true", help="print the markdown tables of the results file")
    for name, text in design_params.items():
        parser.add_argument(f"--{name}", type=int, metavar="N", help=f"{text} (default {defaults[name]})")
    return parser


def _accelerator_job(name: str, plan: CostPlan, args) -> _Job:
    keys = [part.key for part in plan.parts]
    for key in args.only:
        if key not in keys:
            raise _UsageError(f"{name}: unknown part {key!r} (parts: {', '.join(keys)})")
    parts = tuple(p for p in plan.parts if p.key in args.only) if args.only else tuple(p for p in plan.parts if p.default)
    partial = args.quick or bool(args.only)
    default = BUILD / f"{name}_quick.json" if partial else REPO / "docs" / "results" / f"{name}.json"
    return _Job(name, plan, parts, args.output or default, args.quick, tuple(args.only))


def _design_job(name: str, given: dict, args) -> _Job:
    if args.quick or args.only:
        raise _UsageError(f"{name}: --quick and --only apply to an accelerator target")
    part = CostPart(name, designs()[name].summary, design=name, params=given)
    return _Job(name, CostPlan(parts=(part,)), (part,), args.output or BUILD / f"{name}.json")


def _jobs(argv: list[str]) -> tuple[list[_Job], bool]:
    """The jobs of a command line, and whether it asks for ``--table``."""
    targets = argv[: next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))]
    table, accelerators = designs(), plans()
    design = table[targets[0]] if len(targets) == 1 and targets[0] in table else None
    design_params = design.params if design else {}
    parser = _parser(design_params, design.defaults() if design else {})
    args, unknown = parser.parse_known_args(argv[len(targets):])
    known = f"accelerators: {', '.join(accelerators)}; designs: {', '.join(table)}"
    if not targets:
        raise _UsageError(f"expected a target first ({known})")
    for target in targets:
        if target not in accelerators and target not in table:
            raise _UsageError(f"unknown target {target!r} ({known})")
    if unknown:
        allowed = ", ".join(f"--{p}" for p in design_params) or "none: --PARAM VALUE applies to a single design"
        raise _UsageError(f"{' '.join(targets)}: unknown argument {unknown[0]!r} (parameters: {allowed})")
    if args.output and len(targets) > 1:
        raise _UsageError("-o takes a single target")
    jobs = []
    for target in targets:
        if target in accelerators:
            jobs.append(_accelerator_job(target, accelerators[target], args))
        else:
            given = {p: getattr(args, p) for p in design_params if getattr(args, p) is not None}
            jobs.append(_design_job(target, given, args))
    return jobs, args.table


def _build(job: _Job) -> list:
    """``(part, component, params)`` for every part of ``job``, before any synthesis starts."""
    built = []
    for part in job.parts:
        component, params = part.build(job.quick)
        built.append((part, component, params))
    return built


def _print_tables(jobs: list[_Job]) -> int:
    for job in jobs:
        try:
            print(markdown(read_section(job.output, SECTION)))
        except (OSError, KeyError, ValueError) as error:
            print(f"error: {job.output}: {error}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        jobs, table = _jobs(argv)
        if table:
            return _print_tables(jobs)
        # A design target's values come from the command line: its constructor's complaint is bad input.
        # A plan's parts are the project's own: their errors raise as they are.
        built = []
        for job in jobs:
            try:
                built.append(_build(job))
            except (TypeError, ValueError) as error:
                if job.label not in designs():
                    raise
                raise _UsageError(f"{job.label}: {error}") from None
    except _UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = command_line(PROG, argv)
    tools = {**synth.tool_versions(), **package_versions("amaranth")}
    for job, parts in zip(jobs, built):
        value = _run(job, parts, command, tools)
        print(markdown(value))
        print(f"wrote {job.output} in {value['data']['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
