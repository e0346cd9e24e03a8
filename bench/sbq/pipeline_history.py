"""The SBQ lane and inner product unit before and after the pipelined lane, side by side.

    python -m bench.sbq.pipeline_history [-o docs/results/sbq.json] [--commit 2bf9cad]
    python -m bench.sbq.pipeline_history --measure [lane] [ipu]

Without ``--measure``: reads section ``cost`` of ``docs/results/sbq.json`` as it was at ``commit``
(``git show``), the last measurement of the single-cycle lane (``python -m bench.cost sbq``), and
writes section ``cost_before_pipeline``: LUTs, FFs and Fmax of the parts ``lane`` and ``ipu``
(7-series and ECP5), with nextpnr's critical path. Nothing is synthesized.

With ``--measure``: runs the ECP5 flow of ``python -m bench.cost`` (``bench.synth.ecp5``: synth_ecp5
-nodsp, nextpnr with every port registered) on the current lane and 16-lane IPU (the cost plan's
parameters and top names) and writes them into section ``cost_after_pipeline`` (parts measured
before are kept). ECP5 only: on a shared 2-core machine the 7-series flow of the IPU adds half an hour.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from qaccel.results import command_line, section, write_section

PROG = "python -m bench.sbq.pipeline_history"
SECTION = "cost_before_pipeline"
AFTER = "cost_after_pipeline"
REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "results" / "sbq.json"
#: The last commit whose ``cost`` section measured the single-cycle lane (one combinational cycle from
#: the compute selector's pointers to the accumulator).
BEFORE = "2bf9cad"
PARTS = ("lane", "ipu")


def before_figures(cost: dict) -> dict:
    """``{part: {params, xilinx: {luts, ffs}, ecp5: {luts, lut4_total, ffs, fmax_mhz, critical_path}}}``."""
    parts = cost["data"]["parts"]
    figures = {}
    for name in PARTS:
        part = parts[name]
        figures[name] = {
            "params": part["params"],
            "xilinx": {key: part["xilinx"][key] for key in ("luts", "ffs")},
            "ecp5": {key: part["ecp5"][key] for key in ("luts", "lut4_total", "ffs", "fmax_mhz", "critical_path")},
        }
    return figures


def measure(names: list[str], output: Path, argv: list[str]) -> int:
    """ECP5 cost of the current ``lane``/``ipu`` (the SBQ cost plan's parts) into section ``cost_after_pipeline``."""
    from bench import synth
    from bench.cost import plans
    from qaccel.results import package_versions, read_section

    parts = {part.key: part for part in plans()["sbq"].parts}
    try:
        measured = read_section(output, AFTER)["data"]["parts"]
    except (KeyError, FileNotFoundError):
        measured = {}
    for name in names:
        part = parts[name]
        component, params = part.build(False)
        print(f"{name}: synth_ecp5 + nextpnr ...", flush=True)
        result = synth.ecp5(component, part.key, nodsp=not part.ecp5_dsp)
        measured[name] = {"params": params,
                          "ecp5": {key: result[key] for key in ("luts", "lut4_total", "ffs", "fmax_mhz", "critical_path")}}
        value = section(
            command=command_line(PROG, argv),
            tools={**synth.tool_versions(), **package_versions("amaranth")},
            config={"flow": "synth_ecp5 -nodsp; nextpnr-ecp5 --85k --package CABGA381 --out-of-context --freq 400 "
                            "--seed 1; every port registered (bench/synth.py, as python -m bench.cost)"},
            data={"parts": dict(measured)},
        )
        write_section(output, AFTER, value)
        ecp5 = measured[name]["ecp5"]
        print(f"{name}: {ecp5['luts']} LUT4, {ecp5['ffs']} FF, {ecp5['fmax_mhz']} MHz, critical path {ecp5['critical_path']}")
    print(f"wrote section {AFTER} of {output}")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=RESULTS, help="results file to update")
    ap.add_argument("--commit", default=BEFORE, help=f"commit to read the cost section from (default {BEFORE})")
    ap.add_argument("--measure", nargs="*", choices=PARTS, metavar="PART",
                    help="measure the current lane and/or ipu on ECP5 instead (default: both)")
    args = ap.parse_args(argv)
    if args.measure is not None:
        return measure(args.measure or list(PARTS), args.output, argv)
    shown = subprocess.run(["git", "show", f"{args.commit}:docs/results/sbq.json"], cwd=REPO,
                           capture_output=True, text=True)
    if shown.returncode != 0:
        print(f"error: git show {args.commit}:docs/results/sbq.json: {shown.stderr.strip()}", file=sys.stderr)
        return 2
    cost = json.loads(shown.stdout)["cost"]
    full = subprocess.run(["git", "rev-parse", args.commit], cwd=REPO, capture_output=True, text=True).stdout.strip()
    figures = before_figures(cost)
    value = section(
        command=command_line(PROG, argv),
        tools=cost["tools"],
        config={"commit": full, "measured_by": cost["command"], "flows": cost["config"]["flows"]},
        data={"parts": figures},
    )
    write_section(args.output, SECTION, value)
    for name, part in figures.items():
        print(f"{name}: {part['xilinx']['luts']} 7-series LUT, {part['ecp5']['luts']} LUT4, "
              f"{part['ecp5']['ffs']} FF, {part['ecp5']['fmax_mhz']} MHz (commit {full[:7]})")
    print(f"wrote section {SECTION} of {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
