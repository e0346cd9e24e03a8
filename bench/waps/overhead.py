"""The cost of WAPS over a plain PE: cycles from simulation, area with multipliers in LUTs, Fmax.

    python -m bench.waps.overhead [--sim icarus|verilator] [--cost-only] [--table]

Writes section ``overhead`` of ``docs/results/waps.json``:

* ``extra_cycles_3_groups``: cycles per output vector (job) of ``waps_pe`` minus ``mac_pe`` on a
  layer of three groups whose sizes are multiples of the array's inputs, measured in simulation by the
  ``three_groups_cycles`` test of both benches (which asserts the cycle formula); also the same for
  three uneven groups (where the offline layout pads each group to whole beats) and the latency of
  both PEs.
* ``area_overhead_pct``: ``(LUT + FF of waps_pe - mac_pe) / (LUT + FF of mac_pe)`` from yosys
  ``synth_xilinx -nodsp`` (every multiplier in LUTs) of the slice, with the breakdown: both accumulators (the only
  part that differs), the requantizer both PEs share, and the overhead without it.
* the same with DSP mapping (``synth_xilinx`` as ``python -m bench.cost waps`` runs it), the CMOS
  transistor counts of that run, and the ECP5 Fmax of both PEs with their critical paths (read from
  section ``cost``, so run ``python -m bench.cost waps`` first, or afterwards with ``--cost-only``).

Cycles are measured on the whole 16 x 16 PE (:data:`bench.waps.PE`); area on the slice of two output
lanes the cost plan synthesizes (:data:`bench.waps.SLICE`, see :mod:`bench.waps` for why its ratios
are the array's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from bench import synth
from bench.waps import PAPER, PE, SLICE
from hdl.waps import DESIGNS, Accumulator, GroupAccumulator, MacPE, Requantizer, WapsPE
from hdl.waps.layouts import sum_bits
from qaccel.results import command_line, print_section, read_section, section, write_section
from sim.harness import BUILD as SIM_BUILD
from sim.harness import run_bench
from sim.waps import BENCHES as BENCH

__all__ = ["measure_cycles", "measure_area", "main"]

PROG = "python -m bench.waps.overhead"
REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "results" / "waps.json"
WORK = REPO / "build" / "bench" / "waps_overhead"


def measure_cycles(simulator: str) -> dict:
    """Run ``three_groups_cycles`` on both PEs (at :data:`bench.waps.PE`) and read what they recorded."""
    designs = {design.name: design for design in DESIGNS}
    found = {}
    for name in ("waps_pe", "mac_pe"):
        run_bench(designs[name], PE, BENCH[name], simulator, testcase="three_groups_cycles")
        records = [json.loads(p.read_text()) for p in (SIM_BUILD / "waps_three_groups").glob(f"{name}_*_{simulator}.json")]
        records = [r for r in records if r["parameters"] == {**designs[name].defaults(), **PE}]
        if len(records) != 1:
            raise RuntimeError(f"{name}: expected one recorded measurement on {simulator}, found {len(records)}")
        found[name] = records[0]
    waps, mac = found["waps_pe"], found["mac_pe"]
    cases = {}
    for case in ("even", "uneven"):
        cases[case] = {
            "group_sizes": waps[case]["group_sizes"],
            "jobs": waps[case]["jobs"],
            "waps_pe_cycles": waps[case]["cycles"], "mac_pe_cycles": mac[case]["cycles"],
            "waps_pe_cycles_per_job": waps[case]["cycles_per_job"], "mac_pe_cycles_per_job": mac[case]["cycles_per_job"],
            "extra_cycles_per_job": waps[case]["cycles_per_job"] - mac[case]["cycles_per_job"],
        }
        # the recorded totals obey the formula: jobs x cycles per job + latency
        for name, record in found.items():
            assert record[case]["cycles"] == record[case]["jobs"] * record[case]["cycles_per_job"] + record[case]["latency"]
    return {
        "simulator": waps["simulator"],
        "cases": cases,
        "latency": {"waps_pe": waps["even"]["latency"], "mac_pe": mac["even"]["latency"]},
        "extra_cycles_3_groups": cases["even"]["extra_cycles_per_job"],
        "extra_cycles_3_groups_uneven": cases["uneven"]["extra_cycles_per_job"],
        "extra_latency": waps["even"]["latency"] - mac["even"]["latency"],
    }


def _parts() -> dict:
    s = SLICE
    width = sum_bits(s["inputs"], s["w_bits"], s["a_bits"])
    return {
        "waps_pe": WapsPE(**s),
        "mac_pe": MacPE(**s),
        "group_accumulator": GroupAccumulator(outputs=s["outputs"], sum_width=width, acc_bits=s["acc_bits"], n=s["n"]),
        "accumulator": Accumulator(outputs=s["outputs"], sum_width=width, acc_bits=s["acc_bits"]),
        "requantizer": Requantizer(outputs=s["outputs"], acc_bits=s["acc_bits"], mult_bits=s["mult_bits"],
                                   out_bits=s["out_bits"]),
    }


def _pct(new: int, old: int) -> float:
    return round(100 * (new - old) / old, 2)


def measure_area() -> dict:
    """``synth_xilinx -nodsp`` of both PEs, both accumulators and the shared requantizer."""
    parts = {}
    built = _parts()
    with tqdm(total=len(built), desc="synth_xilinx -nodsp", unit="part") as bar:
        for key, component in built.items():
            bar.set_postfix_str(key)
            result = synth.xilinx(component, key, workdir=WORK / key, nodsp=True)
            parts[key] = {k: result[k] for k in ("luts", "ffs", "dsps", "carry", "seconds")}
            parts[key]["luts_ffs"] = result["luts"] + result["ffs"]
            bar.update(1)
    waps, mac, requant = (parts[k]["luts_ffs"] for k in ("waps_pe", "mac_pe", "requantizer"))
    return {
        "parts": parts,
        "area_overhead_pct": _pct(waps, mac),
        "lut_overhead_pct": _pct(parts["waps_pe"]["luts"], parts["mac_pe"]["luts"]),
        "ff_overhead_pct": _pct(parts["waps_pe"]["ffs"], parts["mac_pe"]["ffs"]),
        "accumulator_luts_ffs": {"waps_pe": parts["group_accumulator"]["luts_ffs"], "mac_pe": parts["accumulator"]["luts_ffs"]},
        "requantizer_share_pct": round(100 * requant / mac, 2),
        "area_overhead_without_requantizer_pct": _pct(waps - requant, mac - requant),
    }


def _from_cost() -> dict:
    """DSP-mapped LUT/FF/DSP, CMOS transistors and ECP5 Fmax of both PEs, from section ``cost``."""
    try:
        parts = read_section(RESULTS, "cost")["data"]["parts"]
    except (KeyError, FileNotFoundError):
        parts = {}
    if "waps_pe" not in parts or "mac_pe" not in parts:
        print(f"{RESULTS} has no cost of both PEs yet: run python -m bench.cost waps, then this command "
              "with --cost-only", file=sys.stderr)
        return {"missing": True, "ecp5_fmax_mhz": {"waps_pe": None, "mac_pe": None}, "dsp_area_overhead_pct": None}
    found = {}
    for key in ("waps_pe", "mac_pe"):
        x, e = parts[key]["xilinx"], parts[key]["ecp5"]
        found[key] = {"luts": x["luts"], "ffs": x["ffs"], "dsps": x["dsps"], "luts_ffs": x["luts"] + x["ffs"],
                      "transistors": parts[key].get("cmos", {}).get("transistors"),
                      "ecp5_fmax_mhz": e.get("fmax_mhz"), "ecp5_critical_path": e.get("critical_path")}
    waps, mac = found["waps_pe"], found["mac_pe"]
    result = {"parts": found, "dsp_area_overhead_pct": _pct(waps["luts_ffs"], mac["luts_ffs"]),
              "dsp_extra": waps["dsps"] - mac["dsps"], "ecp5_fmax_mhz": {k: v["ecp5_fmax_mhz"] for k, v in found.items()}}
    if waps["transistors"] and mac["transistors"]:
        result["cmos_overhead_pct"] = _pct(waps["transistors"], mac["transistors"])
    return result


def markdown(overhead: dict) -> str:
    """The area table of section ``overhead`` (the docs quote it)."""
    area, cost = overhead["data"]["area_nodsp"], overhead["data"]["from_cost"]
    lines = ["| part (two-lane slice) | LUT | FF | LUT + FF |", "| --- | ---: | ---: | ---: |"]
    for key, entry in area["parts"].items():
        lines.append(f"| `{key}` | {entry['luts']} | {entry['ffs']} | {entry['luts_ffs']} |")
    lines += ["", "| figure | value | the paper |", "| --- | ---: | ---: |",
              f"| `area_overhead_pct` (LUT + FF, `synth_xilinx -nodsp`) | {area['area_overhead_pct']}% | {PAPER['area_overhead_pct']}% (ASIC) |",
              f"| LUT / FF overhead | {area['lut_overhead_pct']}% / {area['ff_overhead_pct']}% | |",
              f"| requantizer share of `mac_pe` | {area['requantizer_share_pct']}% | |",
              f"| `area_overhead_without_requantizer_pct` | {area['area_overhead_without_requantizer_pct']}% | |"]
    if not cost.get("missing"):
        p = cost["parts"]
        lines += [
            f"| `dsp_area_overhead_pct` (LUT + FF, `synth_xilinx` with DSP48E1) | {cost['dsp_area_overhead_pct']}% "
            f"({p['waps_pe']['luts_ffs']} vs {p['mac_pe']['luts_ffs']}, DSPs {p['waps_pe']['dsps']} vs {p['mac_pe']['dsps']}) | |",
            f"| `cmos_overhead_pct` (transistors) | {cost.get('cmos_overhead_pct')}% "
            f"({p['waps_pe']['transistors']} vs {p['mac_pe']['transistors']}) | |",
            f"| ECP5 Fmax `waps_pe` / `mac_pe` | {p['waps_pe']['ecp5_fmax_mhz']} / {p['mac_pe']['ecp5_fmax_mhz']} MHz | |",
        ]
        for key in ("waps_pe", "mac_pe"):
            path = p[key]["ecp5_critical_path"]
            if path:
                lines.append(f"| ECP5 critical path of `{key}` | `{path['from']}` to `{path['to']}`, {path['delay_ns']} ns "
                             f"({path['logic_cells']} logic cells) | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator",
                        help="simulator of the cycle measurement (default: verilator)")
    parser.add_argument("--cost-only", action="store_true",
                        help="keep the cycles and area this section holds; re-read only section cost")
    parser.add_argument("--table", action="store_true", help="print the markdown table of the section; measure nothing")
    args = parser.parse_args(argv)
    if args.table:
        return print_section(RESULTS, "overhead", markdown, data_only=False)
    if args.cost_only:
        kept = read_section(RESULTS, "overhead")["data"]
        cycles, area = kept["cycles"], kept["area_nodsp"]
    else:
        cycles = measure_cycles(args.sim)
        area = measure_area()
    from_cost = _from_cost()
    flat = {
        "extra_cycles_3_groups": cycles["extra_cycles_3_groups"],
        "extra_cycles_3_groups_uneven": cycles["extra_cycles_3_groups_uneven"],
        "extra_latency_cycles": cycles["extra_latency"],
        "area_overhead_pct": area["area_overhead_pct"],
        "area_overhead_without_requantizer_pct": area["area_overhead_without_requantizer_pct"],
        "dsp_area_overhead_pct": from_cost["dsp_area_overhead_pct"],
        "cmos_overhead_pct": from_cost.get("cmos_overhead_pct"),
        "waps_pe_ecp5_fmax_mhz": from_cost["ecp5_fmax_mhz"]["waps_pe"],
        "mac_pe_ecp5_fmax_mhz": from_cost["ecp5_fmax_mhz"]["mac_pe"],
    }
    value = section(
        command=command_line(PROG, argv),
        tools=synth.tool_versions(),
        config={"cycles_pe": PE, "area_pe": SLICE, "cycles_simulator": args.sim, "area_flow": "synth_xilinx -nodsp (bench.synth.xilinx)",
                "dsp_flow": "section cost (python -m bench.cost waps)", "paper": dict(PAPER)},
        data={"cycles": cycles, "area_nodsp": area, "from_cost": from_cost},
        flat=flat,
    )
    write_section(RESULTS, "overhead", value)
    print(json.dumps(flat, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
