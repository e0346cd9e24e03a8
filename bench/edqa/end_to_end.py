"""End-to-end latency of the eDQA system on the PYNQ-Z1, DMA included, in simulation.

    python -m bench.edqa.end_to_end [-o docs/results/edqa.json] [--simulator verilator]

Runs the ``end_to_end_latency`` test of ``sim/pynq_z1/tb_system.py``: the host driver starts one
important channel of each size of the paper's Table 3 (49, 196, 784, 3136 elements, real
activations, N = 3, m = 3) and reads ``CYCLES`` (FCLK0 cycles from the start to done: the DMA reads
the inputs from DDR, an AXI RAM without stalls, and writes the results back). Writes section
``end_to_end`` (flat key ``end_to_end_cycles``): the cycles, the core's own cycles beside them, the
microseconds at the clock of section ``performance`` and the paper's Table 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qaccel.results import command_line, package_versions, read_section, section, write_section

from . import PAPER_LATENCY_US

PROG = "python -m bench.edqa.end_to_end"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "docs" / "results" / "edqa.json"


def measure(simulator: str) -> tuple[dict, dict]:
    """``(params, {size: figures})`` from the system's end-to-end test."""
    from boards.pynq_z1.system import DESIGN
    from sim.harness import BUILD, _param_key, run_bench
    from sim.pynq_z1.test_system import PARAMS

    run_bench(DESIGN, PARAMS, "sim.pynq_z1.tb_system", simulator, testcase="end_to_end_latency")
    record = json.loads((BUILD / "end_to_end" / f"{DESIGN.name}_{_param_key(PARAMS)}_{simulator}.json").read_text())
    return PARAMS, record["end_to_end_cycles"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="results file (default docs/results/edqa.json)")
    parser.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    args = parser.parse_args(argv)
    try:
        fclk = read_section(args.output, "performance")["data"]["fclk_mhz"]
    except (OSError, KeyError, ValueError) as error:
        print(f"error: no clock in section performance of {args.output} ({error}); run python -m bench.edqa.performance first",
              file=sys.stderr)
        return 2
    print(f"simulating the system on {args.simulator} (the first run builds it: minutes)", file=sys.stderr)
    params, cycles = measure(args.simulator)
    table = {}
    for size, figures in sorted(cycles.items(), key=lambda item: int(item[0])):
        paper_quant, paper_dequant = PAPER_LATENCY_US[int(size)]
        table[size] = {
            **figures,
            "quantize_us": round(figures["quantize"] / fclk, 3),
            "dequantize_us": round(figures["dequantize"] / fclk, 3),
            "paper_quantize_us": paper_quant,
            "paper_dequantize_us": paper_dequant,
        }
    flat = {size: {"quantize": f["quantize"], "dequantize": f["dequantize"]} for size, f in table.items()}
    value = section(
        command=command_line(PROG, argv),
        tools=package_versions("amaranth", "cocotb", "cocotbext-axi", "verilator"),
        config={"system": params, "simulator": args.simulator, "fclk_mhz": fclk,
                "ddr": "cocotbext-axi AxiRam, no stalls", "channel": "important, real digits_cnn activations"},
        data={"sizes": table},
        flat={"end_to_end_cycles": flat},
    )
    write_section(args.output, "end_to_end", value)
    print(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
