"""``python -m sim.hap.rtl_cycles``: run the ``hap_array`` testbench on both simulators and record, for
every layer it sent, the cycles measured in simulation beside ``golden.hap.cycles``' count: section
``rtl_cycles`` of ``docs/results/hap.json``.

``rtl_cycles_match_model`` is true only when every unpaused run on every simulator took exactly the
modelled cycles and the runs include the real layer and the corner cases. ``--full`` adds the
default-size array (8 x 16) with the whole real layer and more random layers, on Verilator only
(Icarus takes many minutes for it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from qaccel.results import command_line, package_versions, section, write_section
from sim.harness import BUILD, SIMULATORS, available, run_bench
from sim.hap.cases import REAL_LAYER, real_layer

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "results" / "hap.json"
SMALL = {"rows": 4, "cols": 8, "acc_bits": 24}
DEFAULT = {"rows": 8, "cols": 16, "acc_bits": 32}
TESTS = ("random_layers", "corners", "backpressure", "real_network_layer")


def _key(params: dict) -> str:
    return "_".join(f"{k}{v}" for k, v in sorted(params.items()))


def _iverilog_version() -> str:
    try:
        out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, check=False).stdout
        return out.splitlines()[0] if out else "unknown"
    except OSError:
        return "not installed"


def measure(simulator: str, params: dict, full: bool) -> dict:
    """Run the bench; the recorded runs of each of its tests."""
    for test in TESTS:
        (BUILD / f"hap_cycles_{test}" / f"hap_array_{_key(params)}_{simulator}.json").unlink(missing_ok=True)
    run_bench("hap_array", params, "sim.hap.tb_hap_array", simulator, extra_env={"QACCEL_HAP_FULL": "1" if full else "0"})
    out = {}
    for test in TESTS:
        record = json.loads((BUILD / f"hap_cycles_{test}" / f"hap_array_{_key(params)}_{simulator}.json").read_text())
        out[test] = record["runs"]
    return out


def table(path: Path = RESULTS) -> str:
    """The markdown table of section ``rtl_cycles``: per configuration and simulator, the unpaused
    runs, their measured and modelled cycles summed, and the real layer's run."""
    from qaccel.results import read_section

    data = read_section(path, "rtl_cycles")["data"]
    lines = ["| array | simulator | unpaused runs | cycles measured | cycles modelled | real layer (measured / model) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, entry in data.items():
        runs = [r for rs in entry["runs"].values() for r in rs if not r["paused"]]
        real = entry["runs"]["real_network_layer"][0]
        p = entry["params"]
        lines.append(f"| {p['rows']} x {p['cols']}, {p['acc_bits']}-bit{' (full)' if entry['full'] else ''} | "
                     f"{name.rsplit('_', 1)[1]} | {len(runs)} | {sum(r['cycles'] for r in runs)} | "
                     f"{sum(r['model_cycles'] for r in runs)} | {real['cycles']} / {real['model_cycles']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m sim.hap.rtl_cycles", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the default-size array with the whole real layer")
    parser.add_argument("--table", action="store_true", help="print the markdown table of the recorded section")
    parser.add_argument("-o", "--output", type=Path, default=RESULTS, help="results file (default docs/results/hap.json)")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.output))
        return 0
    simulators = [s for s in SIMULATORS if available(s)]
    real_layer()
    configs = [("small", SMALL, False)] + ([("default_full", DEFAULT, True)] if args.full else [])
    data, match, cases = {}, True, set()
    for simulator in simulators:
        for name, params, full in configs:
            if full and simulator != "verilator":
                continue
            print(f"hap_array {name} on {simulator} ...", flush=True)
            runs = measure(simulator, params, full)
            data[f"{name}_{simulator}"] = {"params": params, "full": full, "runs": runs}
            for test, records in runs.items():
                for r in records:
                    if not r["paused"]:
                        cases.add(test)
                        match &= r["cycles"] == r["model_cycles"]
    match &= set(simulators) == set(SIMULATORS) and {"real_network_layer", "corners", "random_layers"} <= cases
    unpaused = sum(1 for v in data.values() for rs in v["runs"].values() for r in rs if not r["paused"])
    print(f"{unpaused} unpaused runs, cycles equal to the model: {match}")
    write_section(args.output, "rtl_cycles", section(
        command=command_line("python -m sim.hap.rtl_cycles", argv),
        tools={**package_versions("amaranth", "cocotb", "verilator", "torch"), "iverilog": _iverilog_version()},
        config={"simulators": simulators, "configs": {name: params for name, params, _ in configs},
                "real_layer": "/".join(REAL_LAYER), "model": "golden.hap.cycles (load_cycles per tile + rows - n8)"},
        data=data,
        flat={"rtl_cycles_match_model": match, "rtl_cycles_unpaused_runs": unpaused},
    ))
    return 0 if match else 1


if __name__ == "__main__":
    sys.exit(main())
