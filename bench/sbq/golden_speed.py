"""Speed of the SBQ golden inner product: the torch path and the compiled C kernel of
``golden.sbq.dot_matrix``, in multiplications per second.

    python -m bench.sbq.golden_speed [-o build/bench/sbq_golden_speed.json] [--rows 256]

One MiniLM-sized layer (``rows`` x 384 activations by 384 x 384 int4 weights, B = C = D = 4,
16 lanes); both backends must give the same result. Prints and writes the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from golden.sbq import dot_matrix
from qaccel.results import package_versions

REPO = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sbq.golden_speed", description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=REPO / "build" / "bench" / "sbq_golden_speed.json")
    ap.add_argument("--rows", type=int, default=256, help="activation rows (default 256)")
    args = ap.parse_args(argv)

    g = torch.Generator().manual_seed(0)
    a = torch.randint(-128, 128, (args.rows, 384), generator=g)
    w = torch.randint(-8, 8, (384, 384), generator=g)
    mults = a.numel() * w.shape[0]
    dot_matrix(a[:1], w[:1], 4, 4, 4, backend="c")  # compile the kernel outside the timing
    figures, results = {}, {}
    for backend in ("c", "torch"):
        start = time.perf_counter()
        results[backend] = dot_matrix(a, w, 4, 4, 4, lanes=16, backend=backend)
        seconds = time.perf_counter() - start
        figures[backend] = {"seconds": round(seconds, 3), "mults_per_second": round(mults / seconds)}
        print(f"{backend:>5}: {mults / seconds / 1e6:7.1f} M multiplications/s ({seconds:.2f} s)")
    if not torch.equal(results["c"], results["torch"]):
        print("error: the C kernel and the torch path disagree", file=sys.stderr)
        return 1
    out = {"shape": [args.rows, 384, 384], "budget": 4, "comp": 4, "depth": 4, "lanes": 16,
           "threads": torch.get_num_threads(), "backends": figures,
           "speedup": round(figures["torch"]["seconds"] / figures["c"]["seconds"], 1), "tools": package_versions("torch")}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"C kernel {out['speedup']}x the torch path; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
