"""HAP accuracy study: the poster's accuracy table on the real networks, and DAR's average precision
against the group size (section ``accuracy`` of ``docs/results/hap.json``).

    python -m golden.hap.accuracy                      # both models, every evaluation sample
    python -m golden.hap.accuracy --minilm-limit 256   # quicker
    python -m golden.hap.accuracy --table              # the markdown tables of docs/hap.md

Rows, every one on the same evaluation samples of a model (columns of the poster's table, W/A bits):

- ``fp32``;
- ``8/8``, ``4/8``, ``8/4``, ``5/5``: uniform round-to-nearest, weights symmetric per output channel,
  activations asymmetric per tensor (HAP's activation quantizer, so only the widths differ);
- ``4.6/4~`` and ``5.6/4~``: HAP, dual-precision weights chosen by the sensitivity criterion of
  :mod:`golden.hap.weights` (8-bit fractions 0.15 and 0.4) with 8-bit asymmetric activations coded by
  DAR (intra-channel groups of 16, lossless); the row records the measured average weight width and
  DAR's measured average activation precision (``4~`` in the poster) over the evaluation's operand
  matrices;
- ``4.6/4~ random``: the control of the criterion, the same number of 8-bit channels per layer drawn
  at random (seed 0).

The precision study runs DAR on every layer's operand matrix on the calibration split
(:mod:`golden.hap.operands`) for group sizes 2..128, intra- and inter-channel, and plots the mean
precision over the values of the network (``docs/results/hap_precision.png``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from qaccel.results import command_line, package_versions, print_section, section, write_section

from golden.evaluate import quantized, study_models
from golden.models import get_network

from .dar import MODES, average_precision, dar, metadata_bits_per_value
from .operands import capture_operands
from .scheme import BASELINES, HAPScheme, baseline

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "results" / "hap.json"
SECTION = "accuracy"
PLOT = "hap_precision.png"
HAP_BITS = (4.6, 5.6)
GROUP_SIZE = 16
GROUP_SIZES = (2, 4, 8, 16, 32, 64, 128)


def rows() -> dict:
    """Results key -> (W/A column, scheme factory or None for fp32)."""
    table = {"fp32": ("fp32", None)}
    for wa, (w, a) in BASELINES.items():
        table[wa] = (wa, lambda w=w, a=a: baseline(w, a))
    for bits in HAP_BITS:
        table[f"hap{bits:g}"] = (f"{bits:g}/4~", lambda bits=bits: HAPScheme(bits, GROUP_SIZE))
    table[f"hap{HAP_BITS[0]:g}_random"] = (f"{HAP_BITS[0]:g}/4~ random",
                                           lambda: HAPScheme(HAP_BITS[0], GROUP_SIZE, selection="random", seed=0))
    return table


def run_row(model: str, scheme, limit) -> dict:
    net = get_network(model)
    start = time.perf_counter()
    qmodel = quantized(net, scheme)
    metrics = net.evaluate(qmodel, limit=limit)
    out = {"metrics": metrics, "scheme": scheme.config() if scheme else {"name": "fp32"},
           "seconds": round(time.perf_counter() - start, 2)}
    if isinstance(scheme, HAPScheme):
        out["weight_bits"] = round(scheme.measured_weight_bits(), 4)
        out["act_precision"] = {k: round(v, 4) for k, v in scheme.average_activation_precision().items()}
    return out


def precision_study(model: str) -> dict:
    """Mean DAR precision over every value of the network's calibration operand matrices, per mode
    and group size; also the metadata bits per value."""
    net = get_network(model)
    layers = capture_operands(net.load(), net.calibrate)
    out = {"layers": len(layers), "values": sum(op.codes.numel() for op in layers)}
    for mode in MODES:
        points = []
        for g in GROUP_SIZES:
            prec = meta = 0.0
            for op in layers:
                groups = dar(op.codes, group_size=g, mode=mode)
                prec += average_precision(groups) * groups.values
                meta += metadata_bits_per_value(groups) * groups.values
            points.append({"group_size": g, "precision": round(prec / out["values"], 4),
                           "metadata_bits": round(meta / out["values"], 4)})
        out[mode] = points
    return out


def plot(study: dict, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(study)
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        for mode, style in (("intra", "o-"), ("inter", "s--")):
            pts = study[model][mode]
            ax.plot([p["group_size"] for p in pts], [p["precision"] for p in pts], style, label=f"{mode}-channel")
        ax.axhline(8, color="#555", ls=":", lw=1, label="8-bit codes")
        ax.set_xscale("log", base=2)
        ax.set_xticks(GROUP_SIZES, [str(g) for g in GROUP_SIZES])
        ax.set_ylim(0, 8.5)
        ax.set_xlabel("group size G")
        ax.set_ylabel("average precision (bits per value)")
        ax.set_title(f"{model} (calibration split, {study[model]['layers']} layers)")
        ax.legend(loc="lower right", fontsize=9)
    fig.suptitle("DAR: average activation precision vs group size")
    fig.tight_layout()
    path = folder / PLOT
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def table_line(model_data: dict) -> str:
    parts = []
    for key, row in model_data["rows"].items():
        metric = row["metrics"][model_data["metric"]]
        column = model_data["columns"][key]
        if "act_precision" in row:
            column = column.replace("4~", f"{row['act_precision']['per_value']:.2f}~")
        parts.append(f"{column}: {metric:.4f}")
    return "  ".join(parts)


def markdown(data: dict) -> str:
    """The tables of docs/hap.md from the section's data: the poster-like table (headline metric of
    each model; the HAP columns with their measured weight width and DAR activation precision), every
    metric of every row, and the precision against the group size."""
    out = []
    models = data["models"]
    first = next(iter(models.values()))
    keys = list(first["rows"])
    out.append("| model (metric, samples) | " + " | ".join(first["columns"][k] for k in keys) + " |")
    out.append("|---" * (len(keys) + 1) + "|")
    for model, m in models.items():
        cells = [f"{m['rows'][k]['metrics'][m['metric']]:.4f}" if k in m["rows"] else "" for k in keys]
        out.append(f"| {model} ({m['metric']}, {m['samples']}) | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| model | row | W bits | A bits (DAR, per value / per MAC) | metrics |")
    out.append("|---|---|---|---|---|")
    for model, m in models.items():
        for k, row in m["rows"].items():
            w = f"{row['weight_bits']:.3f}" if "weight_bits" in row else str(row["scheme"].get("wbits", "fp32"))
            a = (f"{row['act_precision']['per_value']:.2f} / {row['act_precision']['per_mac']:.2f}"
                 if "act_precision" in row else str(row["scheme"].get("abits", "fp32")))
            metrics = ", ".join(f"{n} {v:.4f}" for n, v in row["metrics"].items() if n != "samples")
            out.append(f"| {model} | {m['columns'][k]} | {w} | {a} | {metrics} |")
    out.append("")
    study = data.get("precision_vs_group", {})
    if study:
        out.append("| model | mode | " + " | ".join(f"G={p['group_size']}" for p in next(iter(study.values()))["intra"]) + " |")
        out.append("|---|---" + "|---" * len(GROUP_SIZES) + "|")
        for model, s in study.items():
            for mode in MODES:
                out.append(f"| {model} | {mode} | " + " | ".join(f"{p['precision']:.2f}" for p in s[mode]) + " |")
        out.append("")
        out.append("| model | metadata bits per value | " + " | ".join(f"G={p['group_size']}" for p in next(iter(study.values()))["intra"]) + " |")
        out.append("|---|---" + "|---" * len(GROUP_SIZES) + "|")
        for model, s in study.items():
            out.append(f"| {model} | base + precision | " + " | ".join(f"{p['metadata_bits']:.2f}" for p in s["intra"]) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.hap.accuracy", description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, help=f"results file (its section {SECTION!r} is replaced)")
    ap.add_argument("--models", default="digits_cnn,minilm", help="comma-separated models (default digits_cnn,minilm)")
    ap.add_argument("--limit", type=int, help="evaluation samples of every model (default: all)")
    ap.add_argument("--minilm-limit", type=int, help="evaluation sentences of minilm (default: --limit, else all 1024)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--table", action="store_true", help="print the markdown tables of the section in -o and exit")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    if args.table:
        return print_section(args.output, SECTION, markdown)
    for name, value in (("--limit", args.limit), ("--minilm-limit", args.minilm_limit), ("--threads", args.threads)):
        if value is not None and value < 1:
            ap.error(f"{name} must be >= 1")
    try:
        models = study_models(args.models, args.output, SECTION)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    config = {
        "models": models, "limit": args.limit, "minilm_limit": args.minilm_limit, "threads": args.threads,
        "baselines": "uniform round to nearest: weights symmetric per output channel, activations asymmetric per tensor",
        "hap": {"weight_bits": list(HAP_BITS), "group_size": GROUP_SIZE, "mode": "intra",
                "criterion": "per layer, the round(f*O) channels of highest ||X (W_o - Q4(W_o))||^2 on the calibration split are 8-bit"},
        "precision_study": {"group_sizes": list(GROUP_SIZES), "modes": list(MODES), "data": "calibration split",
                            "average": "over every value of every layer's operand matrix"},
    }
    path = Path(args.output)
    data: dict = {"models": {}, "precision_vs_group": {}}

    def save():
        write_section(path, SECTION, section(
            command=command_line("python -m golden.hap.accuracy", argv),
            tools=package_versions("torch", "transformers", "scikit-learn", "numpy"),
            config=config, data=data))

    table = rows()
    for model in models:
        net = get_network(model)
        limit = (args.minilm_limit or args.limit) if model == "minilm" else args.limit
        results: dict = {}
        data["models"][model] = {"metric": net.metric, "limit": limit, "rows": results,
                                 "columns": {k: col for k, (col, _) in table.items()}}
        for key, (column, factory) in tqdm(table.items(), desc=model, unit="row", file=sys.stderr):
            results[key] = run_row(model, factory() if factory else None, limit)
            data["models"][model]["samples"] = results[key]["metrics"].get("samples")
            extra = f", A {results[key]['act_precision']['per_value']:.2f} bits" if "act_precision" in results[key] else ""
            tqdm.write(f"{model} {column}: {results[key]['metrics'][net.metric]:.4f}{extra} ({results[key]['seconds']} s)",
                       file=sys.stderr)
            save()
    for model in tqdm(models, desc="precision vs group size", unit="model", file=sys.stderr):
        data["precision_vs_group"][model] = precision_study(model)
        save()
    written = plot(data["precision_vs_group"], path.parent)
    for model, result in data["models"].items():
        print(f"{model} ({result['samples']} samples, {result['metric']}): {table_line(result)}")
    print(f"wrote section {SECTION!r} of {path} and {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
