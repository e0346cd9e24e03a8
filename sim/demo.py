"""``make demo``: generate every registered design into ``build/`` and verify it on each simulator.

    python -m sim.demo [--out build]

Prints one row per design: its parameters, ports, and the cocotb result on Icarus and Verilator.
Exits non-zero when any testbench fails.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from hdl.generate import generate
from hdl.registry import designs
from sim.benches import benches
from sim.harness import SIMULATORS, BenchFailure, missing_reason, run_bench


def _ports(ports: list[dict]) -> str:
    return " ".join(f"{'>' if p['direction'] == 'in' else '<'}{p['name']}[{p['width']}]" for p in ports)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build", help="folder for the generated Verilog (default: build)")
    args = parser.parse_args(argv)

    rows, failures = [], []
    table = designs()
    jobs = [(name, sim) for name in table for sim in SIMULATORS]
    results: dict[tuple[str, str], str] = {}
    for name, sim in tqdm(jobs, desc="verifying", unit="run", file=sys.stderr):
        reason = missing_reason(sim)
        if reason is not None:
            results[name, sim] = "not installed"
            continue
        try:
            outcome = run_bench(name, None, benches()[name], sim)
            n = outcome["tests"]
            results[name, sim] = f"pass ({n} test{'' if n == 1 else 's'})"
        except BenchFailure as error:
            results[name, sim] = "FAIL"
            failures.append(f"{name} on {sim}:\n{error}")
    for name in table:
        info = generate(name, None, args.out)
        params = " ".join(f"{k}={v}" for k, v in info["parameters"].items())
        rows.append([name, params, _ports(info["ports"]), *(results[name, s] for s in SIMULATORS)])

    header = ["design", "parameters", "ports (> in, < out)", *SIMULATORS]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\nVerilog and port descriptions in {args.out}/ (DESIGN.v, DESIGN.json)")
    for sim in SIMULATORS:
        reason = missing_reason(sim)
        if reason:
            print(f"note: {reason}")
    for failure in failures:
        print(f"\n{failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
