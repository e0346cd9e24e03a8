"""HAP against Stripes, ShapeShifter and BitWave at ISO compute on the real layers of the networks
(section ``performance`` of ``docs/results/hap.json`` and ``docs/results/hap_performance.png``).

    python -m golden.perf.compare
    python -m golden.perf.compare --table   # the markdown tables of docs/hap.md

For every Linear/Conv2d layer of each network, on the calibration split (:mod:`golden.hap.operands`:
128 images of ``digits_cnn``, 128 sentences of ``minilm``):

- Stripes and ShapeShifter (also with unlimited run-ahead registers, ``shapeshifter_runahead``)
  compute on the layer's 8-bit symmetric activation codes (their own
  quantization); ``*_same_codes`` also on HAP's codes minus the zero point (signed), i.e. on exactly
  the integer products HAP computes;
- BitWave on HAP's dual-precision weight codes;
- HAP on the DAR groups (intra-channel, ``G = 16``) of the 8-bit asymmetric codes, with the
  dual-precision weights that :class:`golden.hap.scheme.HAPScheme` chooses (4.6 average bits; 5.6
  too, and every channel 8-bit, ``hap8``, which leaves DAR's share of the speedup alone).

Each design's cycles come from its model in :mod:`golden.perf` at the geometry of
:mod:`golden.perf.iso`. ``speedup[design]`` is HAP's speedup over it, the geometric mean over the
layers of both networks of ``cycles[design] / cycles[hap]``; per network, the geometric mean over its
layers and the ratio of the networks' total cycles are recorded too. A sweep of HAP's array shape
(``rows`` x 16 PEs, ``8192 / (16 rows)`` arrays: ``hap_geometry``) shows how much that choice matters.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from qaccel.results import command_line, package_versions, print_section, section, write_section

from golden.evaluate import quantized, study_models
from golden.hap.dar import average_precision, dar
from golden.hap.operands import capture_operands
from golden.hap.scheme import HAPScheme
from golden.hap.weights import quantize_channels
from golden.models import get_network

from . import bitwave, hap, iso, shapeshifter, stripes

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "results" / "hap.json"
SECTION = "performance"
PLOT = "hap_performance.png"
PEERS = ("stripes", "shapeshifter", "bitwave")
HAP_BITS = (4.6, 5.6)
GEOMETRIES = (8, 16, 32, 64)  # HAP rows; arrays = 8192 PEs / (rows * 16)


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def layer_row(op, bits: dict[float, torch.Tensor]) -> dict:
    """Cycles of one layer on every design (HAP at each average weight width)."""
    shape = op.shape
    groups = dar(op.codes, group_size=hap.COLS)
    head = bits[HAP_BITS[0]]
    codes = quantize_channels(op.weight, head).codes
    cycles = {
        "stripes": stripes.layer_cycles(op.signed, shape["O"]),
        "shapeshifter": shapeshifter.layer_cycles(op.signed, shape["O"]),
        "shapeshifter_runahead": shapeshifter.layer_cycles(op.signed, shape["O"], runahead=True),
        "bitwave": bitwave.layer_cycles(codes, shape["P"]),
        "hap": hap.layer_cycles(groups, head.tolist()),
    }
    for b in HAP_BITS[1:]:
        cycles[f"hap{b:g}"] = hap.layer_cycles(groups, bits[b].tolist())
    cycles["hap8"] = hap.layer_cycles(groups, [8] * shape["O"])  # every channel 8-bit: DAR's share alone
    same = op.codes - op.zero_point  # HAP's own operands, signed: the same integer products as HAP
    cycles["stripes_same_codes"] = stripes.layer_cycles(same, shape["O"])
    cycles["shapeshifter_same_codes"] = shapeshifter.layer_cycles(same, shape["O"])
    return {
        "layer": op.name, **shape,
        "cycles": cycles,
        "speedup": {d: round(cycles[d] / cycles["hap"], 4) for d in PEERS},
        "stats": {
            "stripes_precision": stripes.layer_precision(op.signed),
            "shapeshifter_mean_brick_precision": round(float(shapeshifter.brick_precisions(op.signed).double().mean()), 4),
            "bitwave_mean_columns": round(float(bitwave.column_counts(codes).double().mean()), 4),
            "dar_mean_precision": round(average_precision(groups), 4),
            "hap_8bit_channels": int((head == 8).sum()),
        },
    }


def geometry_sweep(ops, bits: torch.Tensor) -> dict:
    """Total cycles of the network on HAP arrays of ``rows`` x 16 at ISO compute, per ``rows``."""
    out = {}
    for rows in GEOMETRIES:
        arrays = iso.DESIGNS["hap"]["count"] // (rows * hap.COLS)
        total = sum(hap.layer_cycles(dar(op.codes, group_size=hap.COLS), bits[op.name].tolist(), rows=rows, arrays=arrays)
                    for op in ops)
        out[str(rows)] = {"rows": rows, "arrays": arrays, "total_cycles": total}
    return out


def model_summary(layers: list[dict]) -> dict:
    totals = {d: sum(r["cycles"][d] for r in layers) for d in layers[0]["cycles"]}
    return {
        "total_cycles": totals,
        "speedup_geomean": {d: round(geomean(r["speedup"][d] for r in layers), 4) for d in PEERS},
        "speedup_total": {d: round(totals[d] / totals["hap"], 4) for d in PEERS},
        "speedup_geomean_hap5.6": {d: round(geomean(r["cycles"][d] / r["cycles"]["hap5.6"] for r in layers), 4) for d in PEERS},
        "speedup_geomean_hap8": {d: round(geomean(r["cycles"][d] / r["cycles"]["hap8"] for r in layers), 4) for d in PEERS},
        "speedup_geomean_shapeshifter_runahead": round(geomean(r["cycles"]["shapeshifter_runahead"] / r["cycles"]["hap"]
                                                               for r in layers), 4),
        "speedup_geomean_same_codes": {d: round(geomean(r["cycles"][f"{d}_same_codes"] / r["cycles"]["hap"] for r in layers), 4)
                                       for d in ("stripes", "shapeshifter")},
    }


def short(name: str) -> str:
    """A short label for a layer (``bert.encoder.layer.3.attention.self.query`` -> ``3.query``)."""
    parts = name.split(".")
    if name.startswith("bert.encoder.layer."):
        kind = {"query": "q", "key": "k", "value": "v"}.get(parts[-1]) or ("ao" if "attention" in parts else
                                                                        "ffn1" if "intermediate" in parts else "ffn2")
        return f"{parts[3]}.{kind}"
    return name.removesuffix(".conv")


def plot(data: dict, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(data["models"])
    fig, axes = plt.subplots(len(models), 1, figsize=(14, 3.6 * len(models)), squeeze=False)
    designs = (("shapeshifter", "ShapeShifter", "#e90"), ("bitwave", "BitWave", "#6a6"), ("hap", "HAP (4.6-bit weights)", "#36c"))
    for ax, model in zip(axes[:, 0], models):
        layers = data["models"][model]["layers"]
        xs = range(len(layers))
        width = 0.27
        for i, (key, label, color) in enumerate(designs):
            ys = [r["cycles"]["stripes"] / r["cycles"][key] for r in layers]
            ax.bar([x + (i - 1) * width for x in xs], ys, width, label=label, color=color)
        ax.axhline(1.0, color="#555", lw=1, ls=":", label="Stripes")
        ax.set_xticks(list(xs), [short(r["layer"]) for r in layers], rotation=90 if len(layers) > 10 else 0, fontsize=8)
        ax.set_ylabel("speedup over Stripes")
        g = data["models"][model]["speedup_geomean"]
        ax.set_title(f"{model}: HAP over Stripes {g['stripes']:.2f}x, ShapeShifter {g['shapeshifter']:.2f}x, "
                     f"BitWave {g['bitwave']:.2f}x (geometric means over layers)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    fig.suptitle(f"Cycles at ISO compute ({iso.MULTIPLIERS} 8-bit multiplier equivalents), normalized to Stripes")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path = folder / PLOT
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(data: dict) -> str:
    """The tables of docs/hap.md from the section's data: the speedups, HAP's array shapes, and every
    layer's cycles."""
    out = ["| HAP's speedup over | " + " | ".join(PEERS) + " |", "|---" * (len(PEERS) + 1) + "|"]
    rows = []
    for model, m in data["models"].items():
        rows += [(f"{model}, geometric mean over layers", m["speedup_geomean"]),
                 (f"{model}, total cycles", m["speedup_total"]),
                 (f"{model}, HAP at 5.6-bit weights (geometric mean)", m["speedup_geomean_hap5.6"]),
                 (f"{model}, HAP with every channel 8-bit (geometric mean)", m["speedup_geomean_hap8"]),
                 (f"{model}, peers on HAP's own codes (geometric mean)", m["speedup_geomean_same_codes"]),
                 (f"{model}, ShapeShifter with unlimited run-ahead (geometric mean)",
                  {"shapeshifter": m["speedup_geomean_shapeshifter_runahead"]})]
    rows += [("all layers of both networks, geometric mean (`speedup`)", data["speedup"]),
             ("all layers, peers on HAP's own codes", data["speedup_same_codes"])]
    for label, values in rows:
        out.append(f"| {label} | " + " | ".join(f"{values[d]:.2f}x" if d in values else "" for d in PEERS) + " |")
    out += ["", "| model | " + " | ".join(f"{g['rows']} rows x 16, {g['arrays']} arrays"
                                           for g in next(iter(data["models"].values()))["hap_geometry"].values()) + " |",
            "|---" * (len(GEOMETRIES) + 1) + "|"]
    for model, m in data["models"].items():
        out.append(f"| {model} (HAP total cycles) | " + " | ".join(str(g["total_cycles"]) for g in m["hap_geometry"].values()) + " |")
    for model, m in data["models"].items():
        out += ["", f"**{model}**", "",
                "| layer | O | K | P | Stripes p | ShapeShifter mean p | BitWave mean columns | DAR mean p | 8-bit ch. "
                "| Stripes | ShapeShifter | BitWave | HAP | HAP / Stripes, ShapeShifter, BitWave |",
                "|---" * 14 + "|"]
        for r in m["layers"]:
            st, c = r["stats"], r["cycles"]
            out.append(f"| {short(r['layer'])} | {r['O']} | {r['K']} | {r['P']} | {st['stripes_precision']} | "
                       f"{st['shapeshifter_mean_brick_precision']:.2f} | {st['bitwave_mean_columns']:.2f} | "
                       f"{st['dar_mean_precision']:.2f} | {st['hap_8bit_channels']} | {c['stripes']} | {c['shapeshifter']} | "
                       f"{c['bitwave']} | {c['hap']} | " + ", ".join(f"{r['speedup'][d]:.2f}" for d in PEERS) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.perf.compare", description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, help=f"results file (its section {SECTION!r} is replaced)")
    ap.add_argument("--models", default="digits_cnn,minilm", help="comma-separated models (default digits_cnn,minilm)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--table", action="store_true", help="print the markdown tables of the section in -o and exit")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    if args.table:
        return print_section(args.output, SECTION, markdown)
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    try:
        models = study_models(args.models, args.output, SECTION)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    config = {
        "models": models, "data": "calibration split of every model", "multipliers": iso.MULTIPLIERS,
        "budget_bit_products_per_cycle": iso.BUDGET, "designs": iso.DESIGNS,
        "hap": {"group_size": hap.COLS, "rows": hap.ROWS, "arrays": hap.ARRAYS, "weight_bits": list(HAP_BITS),
                "assignment": "tile t to array t mod arrays, in the single array's issue order"},
        "peers_activations": "8-bit symmetric per-tensor codes of the same layer inputs (*_same_codes: HAP's codes minus "
                             "the zero point, signed, the same integer products as HAP)",
        "bitwave_weights": f"HAP's dual-precision codes at {HAP_BITS[0]} bits (no bit-flip)",
        "speedup": "geometric mean over the layers of both networks of cycles[design] / cycles[hap]",
    }
    data: dict = {"models": {}}
    for model in models:
        net = get_network(model)
        bits = {}
        for b in HAP_BITS:
            scheme = HAPScheme(b)
            quantized(net, scheme)
            bits[b] = scheme.channel_bits
        ops = capture_operands(net.load(), net.calibrate)
        layers = [layer_row(op, {b: bits[b][op.name] for b in HAP_BITS})
                  for op in tqdm(ops, desc=model, unit="layer", file=sys.stderr)]
        data["models"][model] = {"layers": layers, **model_summary(layers),
                                 "hap_geometry": geometry_sweep(ops, bits[HAP_BITS[0]])}
    every = [r for m in data["models"].values() for r in m["layers"]]
    speedup = {d: round(geomean(r["speedup"][d] for r in every), 4) for d in PEERS}
    data["speedup"] = speedup
    data["speedup_mean_over_peers"] = round(sum(speedup.values()) / len(speedup), 4)
    data["speedup_same_codes"] = {d: round(geomean(r["cycles"][f"{d}_same_codes"] / r["cycles"]["hap"] for r in every), 4)
                                  for d in ("stripes", "shapeshifter")}
    write_section(args.output, SECTION, section(
        command=command_line("python -m golden.perf.compare", argv),
        tools=package_versions("torch", "transformers", "scikit-learn", "numpy"),
        config=config, data=data, flat={"speedup": speedup}))
    written = plot(data, args.output.parent)
    for model, m in data["models"].items():
        print(f"{model}: HAP speedup geomean " + ", ".join(f"{d} {m['speedup_geomean'][d]:.2f}x" for d in PEERS)
              + "; total cycles " + ", ".join(f"{d} {m['speedup_total'][d]:.2f}x" for d in PEERS))
    print("all layers: " + ", ".join(f"{d} {v:.2f}x" for d, v in speedup.items()))
    print(f"wrote section {SECTION!r} of {args.output} and {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
