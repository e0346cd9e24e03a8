"""SBQ accuracy study: the ``accuracy`` section of ``docs/results/sbq.json`` and its plot.

    python -m golden.sbq.accuracy [-o docs/results/sbq.json] [--sentences N] [--models digits_cnn,minilm]

It checks the accuracy claims of "SBQ: Exploiting Significant Bits for Efficient and Accurate
Post-Training DNN Quantization" (J. Ling et al., DATE 2025) on the real networks of
:mod:`golden.models`.

Rows, every one on the same evaluation samples of a model:

* ``fp32``; the W4A8 base model ``w4a8`` (weights int4 per output channel, activations int8 per
  tensor, exact integer dot); uniform ``int8`` (W8A8, the base of the ``tq`` rows), ``int4`` (W4A4)
  and ``int2`` (W2A2);
* ``sbq[B=b]``: SBQ on the W4A8 base with budget ``b`` in 2, 3, 4, compensation ``C = b``, queue
  depth ``D = 4``, 16 lanes;
* ``sbq_c0[B=b]``: the same SBQ without compensation (``C = 0``): SBQ's own product-aware term
  selection with every pair beyond the budget dropped (an ablation, not the paper's TQ);
* ``tq[w/a]``: TQ, the paper's baseline (:mod:`golden.sbq.tq`): groups of ``TQ_GROUP`` values along
  the reduction dimension, ``w`` and ``a`` power-of-two (HESE) terms per weight and per activation on
  average (group budgets ``8w``, ``8a``), on the W8A8 base of the TQ paper, at 4/4 and 2/4 (the
  paper's labels, 16 and 8 one-bit term pairs per multiplication) and at 2/2 and 1/2 (4 and 2 term
  pairs, as many as SBQ's B); ``tq_w4a8[w/a]``: the same on SBQ's W4A8 base codes (2/2 and 1/2 only,
  see ``TQ_W4A8_PRECISIONS``).

Both models use their whole evaluation split by default (digits_cnn 540 images, minilm 1,024
sentences); ``--sentences N`` runs minilm on the first ``N`` sentences only, for a quick check (each
SBQ row emulates hundreds of millions of multiplications per minilm sentence). The paper's claims
are recorded as differences of the headline metric (``claims``). Because a small network's accuracy saturates, the
study also measures the compute error directly (``dot_error``): on the W4A8 codes of every layer of
the model (:func:`golden.export.export_layers`, real inputs), the relative RMS error
``||dot_sbq - dot_exact|| / ||dot_exact||`` of each SBQ, SBQ-C0 and TQ configuration (the ``tq`` rows
against the exact dot of their own W8A8 codes, the others against the exact W4A8 dot).

The study replaces the section ``accuracy`` of the results file (:mod:`qaccel.results`): ``data``
maps each model to its ``samples``, ``limit``, ``rows`` (metrics, scheme, seconds per row),
``claims`` and ``dot_error``. Other sections (the cost results) are kept. A bar chart is written
next to the file (``sbq_accuracy.png``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

import torch

from qaccel.results import command_line, package_versions, section, write_section

from golden.evaluate import evaluate, study_models
from golden.export import export_layers
from golden.models import get_network
from golden.schemes import get_scheme

from .kernel import dot_matrix
from .scheme import SBQScheme
from .tq import TQScheme, term_quantize

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "results" / "sbq.json"
SECTION = "accuracy"
BUDGETS = (2, 3, 4)
DEPTH = 4
LANES = 16
#: TQ as (weight terms, activation terms) per value on average. 4/4 and 2/4 are the labels of the
#: paper's Tables I and II read as one-bit term pairs per multiplication (16 and 8, the BitOps of
#: SBQ B=4 and B=2); 2/2 and 1/2 give TQ as many term pairs per multiplication as SBQ's B (4 and 2).
TQ_PRECISIONS = ((4, 4), (2, 4), (2, 2), (1, 2))
#: On the W4A8 codes, 4/4 and 2/4 never bind (an int4 code has at most 2 HESE terms, an int8 one at
#: most 5 and a group of 8 gets 32): those rows would equal w4a8, so only these are run.
TQ_W4A8_PRECISIONS = ((2, 2), (1, 2))
TQ_GROUP = 8
TQ_ENCODING = "hese"


def rows() -> dict:
    """Results key -> scheme (None for fp32)."""
    table = {
        "fp32": None,
        "w4a8": get_scheme("uniform", wbits=4, abits=8),
        "int8": get_scheme("int8"),
        "int4": get_scheme("int4"),
        "int2": get_scheme("int2"),
    }
    for b in BUDGETS:
        table[f"sbq[B={b}]"] = SBQScheme(budget=b, comp=b, depth=DEPTH, lanes=LANES)
    for b in BUDGETS:
        table[f"sbq_c0[B={b}]"] = SBQScheme(budget=b, comp=0, depth=DEPTH, lanes=LANES)
    for base, wbits, precisions in (("tq", 8, TQ_PRECISIONS), ("tq_w4a8", 4, TQ_W4A8_PRECISIONS)):
        for w, a in precisions:
            table[f"{base}[{w}/{a}]"] = TQScheme(wterms=w, aterms=a, group=TQ_GROUP, wbits=wbits, encoding=TQ_ENCODING)
    return table


def claims(results: dict, metric: str) -> dict:
    """The paper's claims as differences of the headline metric (positive = claim holds)."""
    m = {key: entry["metrics"][metric] for key, entry in results.items()}
    out = {
        "metric": metric,
        "sbq_b4_minus_w4a8_base": m["sbq[B=4]"] - m["w4a8"],
        "sbq_b2_minus_int2": m["sbq[B=2]"] - m["int2"],
        "sbq_b2_minus_int4": m["sbq[B=2]"] - m["int4"],
    }
    for b in BUDGETS:
        out[f"compensation_gain_b{b}"] = m[f"sbq[B={b}]"] - m[f"sbq_c0[B={b}]"]
    out["sbq_b4_minus_tq_4_4"] = m["sbq[B=4]"] - m["tq[4/4]"]
    out["sbq_b2_minus_tq_2_4"] = m["sbq[B=2]"] - m["tq[2/4]"]
    out["sbq_b4_minus_tq_2_2"] = m["sbq[B=4]"] - m["tq[2/2]"]
    out["sbq_b2_minus_tq_1_2"] = m["sbq[B=2]"] - m["tq[1/2]"]
    out["sbq_b4_minus_tq_w4a8_2_2"] = m["sbq[B=4]"] - m["tq_w4a8[2/2]"]
    out["sbq_b2_minus_tq_w4a8_1_2"] = m["sbq[B=2]"] - m["tq_w4a8[1/2]"]
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}


def _codes(model: str, wbits: int, rows: int, limit: int):
    arrays = export_layers(model, get_scheme("uniform", wbits=wbits, abits=8), rows=rows, limit=limit)
    layers = [str(n) for n in arrays["layers"]]
    return [(torch.from_numpy(arrays[f"{n}/a_codes"].astype("int64")), torch.from_numpy(arrays[f"{n}/w_codes"].astype("int64"))) for n in layers]


def _rel_error(pairs, dot) -> float:
    exact = [a @ w.T for a, w in pairs]
    norm = sum(float((e.double() ** 2).sum()) for e in exact) ** 0.5
    err = sum(float(((dot(a, w) - e).double() ** 2).sum()) for (a, w), e in zip(pairs, exact))
    return round(err ** 0.5 / norm, 6)


def _tq_dot(w_terms: int, a_terms: int):
    def dot(a, w):
        return term_quantize(a, TQ_GROUP, a_terms * TQ_GROUP, TQ_ENCODING) @ term_quantize(w, TQ_GROUP, w_terms * TQ_GROUP, TQ_ENCODING).T
    return dot


def dot_error(model: str, rows: int, limit: int) -> dict:
    """Relative RMS error of each SBQ/SBQ-C0/TQ integer dot vs the exact dot of the same base codes,
    pooled over all layers (W4A8 codes; W8A8 codes for the ``tq`` rows)."""
    pairs = _codes(model, 4, rows, limit)
    out = {"layers": len(pairs), "dots": sum(a.shape[0] * w.shape[0] for a, w in pairs)}
    for b in BUDGETS:
        for key, comp in ((f"sbq[B={b}]", b), (f"sbq_c0[B={b}]", 0)):
            out[key] = _rel_error(pairs, lambda a, w: dot_matrix(a, w, b, comp, DEPTH, LANES))
    for w_terms, a_terms in TQ_W4A8_PRECISIONS:
        out[f"tq_w4a8[{w_terms}/{a_terms}]"] = _rel_error(pairs, _tq_dot(w_terms, a_terms))
    pairs8 = _codes(model, 8, rows, limit)
    for w_terms, a_terms in TQ_PRECISIONS:
        out[f"tq[{w_terms}/{a_terms}]"] = _rel_error(pairs8, _tq_dot(w_terms, a_terms))
    out["reference"] = {"tq": "exact W8A8 dot", "others": "exact W4A8 dot"}
    return out


def plot(accuracy: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(accuracy)
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        metric = accuracy[model]["claims"]["metric"]
        keys = list(accuracy[model]["rows"])
        values = [accuracy[model]["rows"][k]["metrics"][metric] for k in keys]
        colors = ["#555" if k in ("fp32", "w4a8") else "#c66" if k.startswith("int") else
                  "#9bd" if k.startswith("sbq_c0") else "#36c" if k.startswith("sbq") else "#6a6" for k in keys]
        ax.bar(range(len(keys)), values, color=colors)
        ax.set_xticks(range(len(keys)), keys, rotation=45, ha="right")
        ax.set_ylabel(metric)
        ax.set_ylim(min(0.0, min(values)), 1.0)
        ax.set_title(f"{model} ({accuracy[model]['samples']} samples)")
        for i, v in enumerate(values):
            ax.text(i, v + 0.01, f"{v:.3f}", ha="center", fontsize=7)
    fig.suptitle("SBQ (C=B, D=4) vs SBQ without compensation (sbq_c0), TQ (group 8, HESE) and uniform baselines")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.sbq.accuracy", description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, help=f"results file (its section {SECTION!r} is replaced)")
    ap.add_argument("--models", default="digits_cnn,minilm", help="comma-separated models")
    ap.add_argument("--sentences", "--minilm-limit", dest="sentences", type=int,
                    help="minilm: the first N evaluation sentences only (default: all 1,024)")
    ap.add_argument("--limit", type=int, help="evaluation samples for the other models (default: all)")
    ap.add_argument("--error-rows", type=int, default=64, help="activation rows per layer for dot_error (default 64)")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    if any(v is not None and v < 1 for v in (args.sentences, args.limit)) or args.error_rows < 1:
        ap.error("--sentences, --limit and --error-rows must be >= 1")
    try:
        models = study_models(args.models, args.output, SECTION)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    accuracy, limits = {}, {}
    for model in models:
        net = get_network(model)
        limit = limits[model] = args.sentences if model == "minilm" else args.limit
        results = {}
        for key, scheme in tqdm(rows().items(), desc=model, unit="scheme", file=sys.stderr):
            entry = evaluate(model, scheme, limit=limit, progress=isinstance(scheme, SBQScheme))
            results[key] = {k: entry[k] for k in ("metrics", "scheme", "seconds")}
            tqdm.write(f"{model} {key}: " + ", ".join(f"{k}={v:.4f}" for k, v in entry["metrics"].items() if k != "samples"), file=sys.stderr)
        samples = results["fp32"]["metrics"].get("samples")
        accuracy[model] = {"samples": samples, "limit": limit, "rows": results, "claims": claims(results, net.metric)}
        accuracy[model]["dot_error"] = dot_error(model, rows=args.error_rows, limit=args.error_rows)

    path = Path(args.output)
    write_section(path, SECTION, section(
        command=command_line("python -m golden.sbq.accuracy", argv),
        tools=package_versions("torch", "transformers", "scikit-learn", "numpy"),
        config={"models": models, "limits": limits, "rows": list(rows()), "budgets": list(BUDGETS),
                "compensation": {"sbq": "C = B", "sbq_c0": "C = 0"}, "depth": DEPTH, "lanes": LANES,
                "tq": {"precisions": [f"{w}/{a}" for w, a in TQ_PRECISIONS],
                       "precisions_w4a8": [f"{w}/{a}" for w, a in TQ_W4A8_PRECISIONS], "group": TQ_GROUP,
                       "encoding": TQ_ENCODING, "base": {"tq": "W8A8", "tq_w4a8": "W4A8"},
                       "budget": "w*group terms per weight group, a*group per activation group"},
                "error_rows": args.error_rows, "threads": torch.get_num_threads()},
        data=accuracy,
    ))
    plot(accuracy, path.with_name("sbq_accuracy.png"))
    for model, result in accuracy.items():
        print(f"{model} ({result['samples']} samples): " + ", ".join(f"{k}={v}" for k, v in result["claims"].items()))
        print(f"{model} dot_error: " + ", ".join(f"{k}={v}" for k, v in result["dot_error"].items()))
    print(f"wrote section {SECTION!r} of {path} and {path.with_name('sbq_accuracy.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
