"""WAPS accuracy study: the ``accuracy`` section of ``docs/results/waps.json`` and ``waps_accuracy.png``.

    python -m golden.waps.accuracy [-o docs/results/waps.json] [--bits 2x4,4x4] [--iterations 1000]
                                   [--seeds 0] [--first-last-bits 8|none] [--limit N]
    python -m golden.waps.accuracy --table [docs/results/waps.json [SECTION]]   # a table of docs/waps.md

``--section`` writes another section (``accuracy_all_layers``: ``--first-last-bits none``).

On ``digits_cnn`` (test split, 540 images), at every ``WxA`` of ``--bits``, rows keyed
``<row>_w<W>a<A>``:

* ``rtn``: round-to-nearest weights (per-output-channel scales of least squared error), every
  channel at scale 1: the starting point of every calibration;
* ``round_only``: learned rounding only (AdaRound, the paper's table 5 "Round-Only");
* ``waps_nozp``: learned rounding and input-channel groups, no ``gamma_z``/``phi_z`` (table 5
  "Inp. Scale Grouped");
* ``waps``: rounding, groups and ``gamma_z``/``phi_z`` (table 5 "+Out. Off.&Scale"), the full method;

plus ``fp32``. Every quantized row is the exported integer network (every layer a
:class:`~golden.waps.layer.WapsLayer` after the channel permutation; :mod:`golden.waps.calibrate`),
calibrated on the 128-image calibration split with ``--iterations`` per layer, once per seed of
``--seeds`` (the batches drawn). Recorded per row: ``accuracy`` (mean over seeds, and per seed),
``agreement`` (fraction of test images whose class equals FP32's), ``logit_mse`` (mean squared error
of the logits against FP32), the calibration's wall time and per-layer losses, the group sizes of
every layer, and, for the learned rows, the accuracy of the same calibration through the harness's
emulated layers (:class:`~golden.waps.scheme.WapsScheme`, float output rounding), which shows the two
agree. The section is rewritten after every row; the plot is drawn at the end.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from qaccel.results import command_line, package_versions, section, write_section

from .calibrate import CalibConfig, calibrate_network
from .network import taps
from .permute import permute_network

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "results" / "waps.json"
SECTION = "accuracy"
PLOT = "waps_accuracy.png"
ROWS = {
    "rtn": {"rounding": False, "groups": False, "affine": False},
    "round_only": {"rounding": True, "groups": False, "affine": False},
    "waps_nozp": {"rounding": True, "groups": True, "affine": False},
    "waps": {"rounding": True, "groups": True, "affine": True},
}


def _bits(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        w, a = item.lower().split("x")
        out.append((int(w), int(a)))
    return out


def _metrics(net, model, reference: torch.Tensor, limit) -> dict:
    x, y = net.splits["test"]
    x, y = x[:limit], y[:limit]
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 64]) for i in range(0, len(y), 64)])
    pred = logits.argmax(1)
    return {"accuracy": float((pred == y).double().mean()),
            "agreement": float((pred == reference.argmax(1)).double().mean()),
            "logit_mse": float(((logits.double() - reference.double()) ** 2).mean()),
            "samples": len(y)}


def _harness_accuracy(net, result, limit) -> float:
    """The same calibration through golden.quant's emulated layers (WapsScheme)."""
    from golden.quant import quantize_model

    from .scheme import WapsScheme

    cfg = result.config
    scheme = WapsScheme(wbits=cfg.w_bits, abits=cfg.a_bits, iterations=cfg.iterations, lam=cfg.lam, n=cfg.n,
                        rounding=cfg.rounding, groups=cfg.groups, affine=cfg.affine, first_last_bits=cfg.first_last_bits)
    scheme.result = result
    qmodel = quantize_model(net.load(), scheme, net.calibrate)
    return net.evaluate(qmodel, limit=limit)["accuracy"]


def plot(data: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [k for k in data if k != "fp32"]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.bar(range(len(rows)), [100 * data[k]["accuracy"] for k in rows], color="#36c")
    ax.axhline(100 * data["fp32"]["accuracy"], color="k", ls="--", lw=1, label="FP32")
    ax.set_xticks(range(len(rows)), rows, rotation=30, ha="right", fontsize=8)
    low = min(100 * data[k]["accuracy"] for k in rows)
    ax.set_ylim(max(0, low - 5), 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("digits_cnn: WAPS vs round-only (exported integer networks)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


LABELS = {"rtn": "round to nearest", "round_only": "round-only (AdaRound)",
          "waps_nozp": "WAPS without gamma_z/phi_z (input scale grouped)", "waps": "WAPS (+ gamma_z/phi_z)"}


def table(path: Path, name: str = SECTION) -> str:
    """Markdown table of the section ``name`` of ``path`` (the tables in ``docs/waps.md``)."""
    from qaccel.results import read_section

    sec = read_section(path, name)
    data, seeds = sec["data"], sec["config"]["seeds"]
    lines = ["| bits | row | accuracy | agreement with FP32 | logit MSE | harness accuracy | calibration s |",
             "|---|---|---|---|---|---|---|"]
    fp = data["fp32"]
    lines.append(f"| FP32 | float | {fp['accuracy']:.4f} | 1.0000 | 0 | | |")
    for key, entry in data.items():
        if key == "fp32":
            continue
        row, _, bits = key.rpartition("_")
        acc = f"{entry['accuracy']:.4f}" + (f" ± {entry['accuracy_std']:.4f}" if "accuracy_std" in entry else "")
        harness = [m.get("harness_accuracy") for m in entry["per_seed"].values()]
        harness = f"{sum(harness) / len(harness):.4f}" if None not in harness else ""
        lines.append(f"| {bits.upper()} | {LABELS.get(row, row)} | {acc} | {entry['agreement']:.4f} | "
                     f"{entry['logit_mse']:.3f} | {harness} | {entry['calibration_seconds']:.0f} |")
    lines.append("")
    spread = " (mean ± sample standard deviation over seeds)" if len(seeds) > 1 else ""
    lines.append(f"Seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}{spread}; "
                 f"{sec['config']['iterations']} iterations per layer; first and last layer at "
                 f"{sec['config']['first_last_bits'] or 'the same'} bits; {fp['samples']} test images.")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--table"]:
        print(table(Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT, argv[2] if len(argv) > 2 else SECTION))
        return 0
    ap = argparse.ArgumentParser(prog="python -m golden.waps.accuracy", description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--section", default=SECTION, help=f"section of the results file (default {SECTION})")
    ap.add_argument("--bits", default="2x4,4x4", help="comma-separated WxA (default 2x4,4x4)")
    ap.add_argument("--iterations", type=int, default=1000, help="calibration iterations per layer (default 1000)")
    ap.add_argument("--seeds", default="0", help="comma-separated calibration seeds (default 0)")
    ap.add_argument("--rows", default=",".join(ROWS), help=f"rows (default {','.join(ROWS)})")
    ap.add_argument("--first-last-bits", default="8", help="bits of the first and last layer: 8 (the paper) or none")
    ap.add_argument("--lam", type=float, default=0.01, help="regulariser weight lambda (default 0.01)")
    ap.add_argument("--limit", type=int, default=None, help="first N test images (default all 540)")
    args = ap.parse_args(argv)
    bits = _bits(args.bits)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = args.rows.split(",")
    if any(r not in ROWS for r in rows):
        ap.error(f"rows must be among {', '.join(ROWS)}")
    first_last = None if args.first_last_bits == "none" else int(args.first_last_bits)
    torch.set_num_threads(1)

    from tqdm import tqdm

    from golden.models import get_network

    net = get_network("digits_cnn")
    model = net.load()
    calib = net.splits["calib"][0]
    x_test = net.splits["test"][0][:args.limit]
    with torch.no_grad():
        reference = torch.cat([model(x_test[i:i + 64]) for i in range(0, len(x_test), 64)])
    data = {"fp32": _metrics(net, model, reference, args.limit)}
    config = {"model": "digits_cnn", "bits": [f"W{w}A{a}" for w, a in bits], "rows": rows,
              "iterations": args.iterations, "seeds": seeds, "first_last_bits": first_last, "lam": args.lam,
              "limit": args.limit, "threads": 1, "calibration_images": len(calib), "machine": platform.machine(),
              "data": net.info()}
    command = command_line("python -m golden.waps.accuracy", argv)
    tools = package_versions("torch", "scikit-learn", "numpy")

    def save():
        write_section(args.output, args.section, section(command=command, tools=tools, config=config, data=data))

    jobs = [(w, a, row) for w, a in bits for row in rows]
    for w, a, row in tqdm(jobs, desc="waps accuracy", unit="row"):
        entry = {"per_seed": {}}
        for seed in seeds:
            cfg = CalibConfig(w_bits=w, a_bits=a, iterations=args.iterations if row != "rtn" else 0, seed=seed,
                              lam=args.lam, first_last_bits=first_last, **ROWS[row])
            start = time.perf_counter()
            result = calibrate_network(model, calib, cfg, progress=True)
            seconds = time.perf_counter() - start
            permuted, _ = permute_network(result)
            qmodel = permuted.integer_model()
            metrics = _metrics(net, qmodel, reference, args.limit)
            metrics["calibration_seconds"] = round(seconds, 2)
            metrics["layer_loss"] = {n: {k: round(v, 5) for k, v in r.losses.items()} for n, r in result.layers.items()}
            metrics["group_sizes"] = {n: list(t.waps.group_sizes) for n, t in taps(qmodel).items()}
            metrics["gathered_inputs"] = [n for n, t in taps(qmodel).items()
                                          if not torch.equal(t.in_order, torch.arange(t.waps.inputs))]
            if row != "rtn":
                metrics["harness_accuracy"] = _harness_accuracy(net, result, args.limit)
            entry["per_seed"][str(seed)] = metrics
        per = list(entry["per_seed"].values())
        for key in ("accuracy", "agreement", "logit_mse", "calibration_seconds"):
            values = [m[key] for m in per]
            entry[key] = sum(values) / len(values)
            if len(values) > 1:
                mean = entry[key]
                entry[key + "_std"] = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        entry["config"] = {"w_bits": w, "a_bits": a, **ROWS[row]}
        data[f"{row}_w{w}a{a}"] = entry
        save()
    save()
    plot_name = PLOT if args.section == SECTION else f"waps_{args.section}.png"
    print(plot(data, args.output.with_name(plot_name)))
    for key, entry in data.items():
        print(f"{key:22s} accuracy {entry['accuracy']:.4f}  agreement {entry['agreement']:.4f}  "
              f"logit_mse {entry['logit_mse']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
