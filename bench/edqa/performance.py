"""eDQA performance against the paper's accelerator: latency per channel, clock, resources.

    python -m bench.edqa.performance [-o docs/results/edqa.json] [--simulator verilator]

1. Runs the ``latency`` test of the core's testbench (``sim/edqa/tb_core.py``) on the generated
   Verilog: for each channel size of the paper's Table 3 (49, 196, 784, 3136 elements, important,
   N = 3, m = 3), the cycles from the channel's command to its last ``q`` and packet word (``quant``:
   quantize + encode) and to its last float (``dequant``: decode + de-quantize).
2. Reads the core's synthesis results from section ``cost`` of the same file (``python -m bench.cost
   edqa`` writes it): the xc7z020 resources (yosys ``synth_xilinx``) and the ECP5 Fmax (nextpnr), the
   open-flow stand-in for the xc7z020's timing.
3. Picks ``fclk_mhz``: the fastest PYNQ-Z1 fabric clock (the Zynq PS derives FCLK_CLK0 from its
   1 GHz IO PLL: 250, 200, 166.67, 142.86, 125 or 100 MHz) at or below the ECP5 Fmax; at least 100.
4. Writes section ``performance`` (and the flat keys ``latency_cycles``, ``fclk_mhz``,
   ``resources_xc7z020``): microseconds at ``fclk_mhz``, the speed-up over the paper's Table 3 at
   every size against the targets (quantize + encode >= 18x, decode + de-quantize >= 5x) and the
   resources against a third of the paper's Table 4.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qaccel.results import command_line, package_versions, read_section, section, write_section

from . import COST, PAPER_LATENCY_US, PAPER_RESOURCES

PROG = "python -m bench.edqa.performance"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "docs" / "results" / "edqa.json"
#: FCLK_CLK0 frequencies the Zynq PS gives from its 1 GHz IO PLL (MHz), fastest first.
FCLK_CHOICES = (250.0, 200.0, 166.67, 142.86, 125.0, 100.0)
TARGET_SPEEDUP = {"quant": 18.0, "dequant": 5.0}


def _core_params() -> dict:
    return dict(next(part for part in COST.parts if part.key == "core").params)


def measure_latency(simulator: str) -> dict:
    """``{size: {"quant": cycles, "dequant": cycles, ...}}`` from the core's latency test."""
    from sim.harness import BUILD, _param_key, run_bench

    params = _core_params()
    run_bench("edqa", params, "sim.edqa.tb_core", simulator, testcase="latency")
    name = "verilator" if simulator == "verilator" else "icarus"
    record = json.loads((BUILD / "latency" / f"edqa_{_param_key(params)}_{name}.json").read_text())
    return {int(size): figures for size, figures in record["latency_cycles"].items()}


def pick_clock(fmax_mhz: float | None) -> float | None:
    """The fastest PS fabric clock at or below ``fmax_mhz`` (None when even 100 MHz is above it)."""
    if fmax_mhz is None:
        return None
    return next((f for f in FCLK_CHOICES if f <= fmax_mhz), None)


def evaluate(cycles: dict, core_cost: dict) -> dict:
    """The performance data from measured cycles and the core's synthesis results."""
    x, e = core_cost["xilinx"], core_cost["ecp5"]
    fmax = e.get("fmax_mhz")
    fclk = pick_clock(fmax)
    resources = {"lut": x["luts"] + x["lutram_luts"], "ff": x["ffs"], "dsp": x["dsps"], "bram": x["bram"]}
    latency_us, speedup = {}, {}
    for size, (paper_quant, paper_dequant) in PAPER_LATENCY_US.items():
        if size not in cycles or fclk is None:
            continue
        ours = {kind: round(cycles[size][kind] / fclk, 3) for kind in ("quant", "dequant")}
        latency_us[str(size)] = ours
        speedup[str(size)] = {"quant": round(paper_quant / ours["quant"], 1), "dequant": round(paper_dequant / ours["dequant"], 1)}
    targets = {
        "fclk_at_least_100_mhz": fclk is not None and fclk >= 100,
        "quant_speedup_18x_every_size": bool(speedup) and all(s["quant"] >= TARGET_SPEEDUP["quant"] for s in speedup.values()),
        "dequant_speedup_5x_every_size": bool(speedup) and all(s["dequant"] >= TARGET_SPEEDUP["dequant"] for s in speedup.values()),
        "resources_at_most_a_third": all(resources[k] <= PAPER_RESOURCES[k] / 3 for k in PAPER_RESOURCES),
    }
    return {
        "latency_cycles": {str(size): {"quant": c["quant"], "dequant": c["dequant"]} for size, c in sorted(cycles.items())},
        "fclk_mhz": fclk,
        "fmax_ecp5_mhz": fmax,
        "latency_us": latency_us,
        "paper_latency_us": {str(size): {"quant": q, "dequant": d} for size, (q, d) in PAPER_LATENCY_US.items()},
        "speedup_over_paper": speedup,
        "resources_xc7z020": resources,
        "paper_resources_xc7z020": dict(PAPER_RESOURCES),
        "resources_share_of_paper": {k: round(resources[k] / PAPER_RESOURCES[k], 3) for k in PAPER_RESOURCES},
        "targets": targets,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="results file (default docs/results/edqa.json)")
    parser.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    args = parser.parse_args(argv)
    try:
        core_cost = read_section(args.output, "cost")["data"]["parts"]["core"]
    except (OSError, KeyError, ValueError) as error:
        print(f"error: no synthesis results of the core in {args.output} ({error}); run python -m bench.cost edqa first",
              file=sys.stderr)
        return 2
    cycles = measure_latency(args.simulator)
    data = evaluate(cycles, core_cost)
    value = section(
        command=command_line(PROG, argv),
        tools=package_versions("amaranth", "cocotb", "verilator"),
        config={"core": _core_params(), "simulator": args.simulator, "fclk_choices_mhz": list(FCLK_CHOICES),
                "target_speedup": TARGET_SPEEDUP, "resources_from": "section cost, part core (synth_xilinx)",
                "channel": "important, float32 activations drawn from N(0, 0.3), absmax 1"},
        data=data,
        flat={"latency_cycles": data["latency_cycles"], "fclk_mhz": data["fclk_mhz"],
              "resources_xc7z020": data["resources_xc7z020"]},
    )
    write_section(args.output, "performance", value)
    print(json.dumps({k: data[k] for k in ("latency_cycles", "fclk_mhz", "speedup_over_paper", "resources_xc7z020", "targets")},
                     indent=1))
    print(f"wrote {args.output}")
    return 0 if all(data["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
