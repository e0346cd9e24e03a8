"""Speed of the SBQ golden inner product ``golden.sbq.dot_matrix``, in multiplications per second:
the table-driven C kernel (AVX2 and scalar paths), the previous kernel, and the torch path.

    python -m bench.sbq.golden_speed [-o docs/results/sbq.json] [--rows 256] [--repeat 5]
    python -m bench.sbq.golden_speed --table    # the docs table from the results file

One MiniLM-sized layer: ``rows`` x 384 int8 activations by 384 x 384 int4 weights, B = C = D = 4,
16 lanes (the accuracy study's W4A8 setting), random operands. Each figure is the best wall time of
``--repeat`` runs, on one thread and on every core. The previous kernel
(``bench/sbq/golden_kernel_v1.c``: a 65,536-entry table and one FIFO per lane, the kernel until the
table-driven one) is compiled and measured in the same run, so the speedup compares like with like
on a machine shared with other jobs; the load average at the start is recorded with the figures.
The torch path runs on the first ``--torch-rows`` rows only (it is about a hundred times slower).
Every path must give the same result. Writes section ``golden_speed`` of the results file, with wall
times and CPU times (the CPU time of one thread is what a busy machine disturbs least).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from golden.sbq import dot_matrix
from golden.sbq import kernel
from golden.sbq.model import budget_tables
from qaccel.results import command_line, package_versions, print_section, section, write_section

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "results" / "sbq.json"
SECTION = "golden_speed"
V1_SOURCE = Path(__file__).with_name("golden_kernel_v1.c")
BUDGET = COMP = DEPTH = 4
LANES = 16


def _v1_kernel():
    """The previous kernel, compiled into build/bench/ (None without a C compiler)."""
    library = REPO / "build" / "bench" / "sbq_golden_kernel_v1.so"
    library.parent.mkdir(parents=True, exist_ok=True)
    command = ["cc", "-O3", "-shared", "-fPIC", "-fopenmp", "-o", str(library), str(V1_SOURCE)]
    if subprocess.run(command, capture_output=True).returncode != 0:
        return None
    lib = ctypes.CDLL(str(library))
    lib.sbq_dot_matrix.restype = None
    lib.sbq_dot_matrix.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_int64] * 6 + [ctypes.c_void_p] * 4 + [ctypes.c_int64, ctypes.c_void_p]
    return lib


def _v1_call(lib, a, w, threads):
    computed, offered, n_offered, spare = budget_tables(BUDGET, COMP)
    # numpy conversions, as in golden.sbq.kernel.table_matrix (torch's thread pool would compete)
    a8, w8 = np.ascontiguousarray(a.numpy(), dtype=np.int8), np.ascontiguousarray(w.numpy(), dtype=np.int8)
    out = np.empty((a.shape[0], w.shape[0]), dtype=np.int64)
    lib.sbq_dot_matrix(a8.ctypes.data, w8.ctypes.data, a.shape[0], w.shape[0], a.shape[1], LANES, COMP, DEPTH,
                       computed.data_ptr(), offered.data_ptr(), n_offered.data_ptr(), spare.data_ptr(), threads, out.ctypes.data)
    return torch.from_numpy(out)


def _best(call, repeat):
    """Best wall time and best CPU time (all threads of the process) of ``repeat`` calls."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = call()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, result


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown(data: dict) -> str:
    """The docs table of a section's ``data``: M multiplications per second per path."""
    names = {"table_avx2": "table-driven, AVX2", "table_scalar": "table-driven, scalar", "v1": "previous kernel (v1)", "torch": "torch path"}
    lines = ["| kernel | one thread | all cores | one thread, per CPU second | over v1, one thread | over v1, all cores |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    v1 = data["paths"]["v1"]
    for key, label in names.items():
        path = data["paths"][key]
        cells = []
        for threads in ("one_thread", "all_threads"):
            cells.append(f"{path[threads]['mults_per_second'] / 1e6:.1f}" if threads in path else "")
        ratios = [f"{path[t]['mults_per_second'] / v1[t]['mults_per_second']:.2f}x" if t in path else "" for t in ("one_thread", "all_threads")]
        cpu = f"{path['one_thread']['mults_per_cpu_second'] / 1e6:.1f}" if "one_thread" in path else ""
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {cpu} | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sbq.golden_speed", description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, help=f"results file (its section {SECTION!r} is replaced)")
    ap.add_argument("--rows", type=int, default=256, help="activation rows (default 256)")
    ap.add_argument("--torch-rows", type=int, default=16, help="rows for the torch path (default 16)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure, the best counts (default 5)")
    ap.add_argument("--table", action="store_true", help="print the docs table from the results file and exit")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    if args.table:
        return print_section(args.output, SECTION, markdown)
    if min(args.rows, args.torch_rows, args.repeat) < 1 or args.torch_rows > args.rows:
        ap.error("--rows, --torch-rows and --repeat must be >= 1, --torch-rows <= --rows")
    lib, v1 = kernel._kernel(), _v1_kernel()
    if lib is None or v1 is None:
        print("error: no C compiler for the kernels", file=sys.stderr)
        return 2

    g = torch.Generator().manual_seed(0)
    a = torch.randint(-128, 128, (args.rows, 384), generator=g)
    w = torch.randint(-8, 8, (384, 384), generator=g)
    load = os.getloadavg()[0]
    paths = {
        "table_avx2": lambda t: kernel._dot_matrix_kernel(lib, a, w, BUDGET, COMP, DEPTH, LANES, simd=True, threads=t),
        "table_scalar": lambda t: kernel._dot_matrix_kernel(lib, a, w, BUDGET, COMP, DEPTH, LANES, simd=False, threads=t),
        "v1": lambda t: _v1_call(v1, a, w, t),
    }
    figures, results = {}, {}
    runs = [(name, threads) for name in paths for threads in (1, 0)]
    for name, threads in tqdm(runs, desc="golden_speed", file=sys.stderr):
        paths[name](threads)  # warm-up (tables, caches)
        seconds, cpu, results[name] = _best(lambda: paths[name](threads), args.repeat)
        key = "one_thread" if threads == 1 else "all_threads"
        figures.setdefault(name, {})[key] = {"seconds": round(seconds, 4), "mults_per_second": round(a.numel() * w.shape[0] / seconds),
                                             "cpu_seconds": round(cpu, 4), "mults_per_cpu_second": round(a.numel() * w.shape[0] / cpu)}
        tqdm.write(f"{name:>12} {key:>11}: {a.numel() * w.shape[0] / seconds / 1e6:7.1f} M multiplications/s", file=sys.stderr)
    ta = a[: args.torch_rows]
    seconds, _, torch_result = _best(lambda: dot_matrix(ta, w, BUDGET, COMP, DEPTH, LANES, backend="torch"), 1)
    figures["torch"] = {"all_threads": {"seconds": round(seconds, 4), "mults_per_second": round(ta.numel() * w.shape[0] / seconds), "rows": args.torch_rows}}
    print(f"       torch all_threads: {ta.numel() * w.shape[0] / seconds / 1e6:7.1f} M multiplications/s ({args.torch_rows} rows)")
    for name, result in results.items():
        if not torch.equal(result, results["v1"]) or not torch.equal(result[: args.torch_rows], torch_result):
            print(f"error: {name} disagrees with the previous kernel or the torch path", file=sys.stderr)
            return 1

    rate = lambda name, key: figures[name][key]["mults_per_second"]  # noqa: E731
    speedup = {key: round(rate("table_avx2", key) / rate("v1", key), 2) for key in ("one_thread", "all_threads")}
    cpu_rate = lambda name: figures[name]["one_thread"]["mults_per_cpu_second"]  # noqa: E731
    speedup["one_thread_cpu_time"] = round(cpu_rate("table_avx2") / cpu_rate("v1"), 2)
    data = {"paths": figures, "speedup_over_v1": speedup,
            "scaling_all_over_one_thread": round(rate("table_avx2", "all_threads") / rate("table_avx2", "one_thread"), 2),
            "load_average_at_start": round(load, 2), "cores": os.cpu_count(), "cpu": _cpu_model(),
            "avx2": bool(lib.sbq_avx2_available())}
    write_section(args.output, SECTION, section(
        command=command_line("python -m bench.sbq.golden_speed", argv),
        tools=package_versions("torch"),
        config={"shape": [args.rows, 384, 384], "wbits": 4, "budget": BUDGET, "comp": COMP, "depth": DEPTH,
                "lanes": LANES, "repeat": args.repeat, "torch_rows": args.torch_rows,
                "v1": "bench/sbq/golden_kernel_v1.c", "table_entries": int(kernel.lane_table(BUDGET, COMP, 4)[0].shape[0])},
        data=data,
        flat={"golden_mults_per_second": rate("table_avx2", "all_threads"), "golden_speedup_over_v1": speedup["all_threads"]},
    ))
    print(f"table-driven kernel {speedup['all_threads']}x the previous one on {os.cpu_count()} cores "
          f"({speedup['one_thread']}x on one thread); load average {load:.2f}; wrote section {SECTION!r} of {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
