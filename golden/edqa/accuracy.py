"""eDQA accuracy study: the ``accuracy`` section of ``docs/results/edqa.json`` and its plots.

    python -m golden.edqa.accuracy [-o docs/results/edqa.json] [--models digits_cnn,minilm]
                                   [--bits 3,4,5] [--limit N] [--minilm-limit N] [--sentences 16]

It checks the accuracy claims of "eDQA: Efficient Deep Quantization of DNN Activations on Edge
Devices" (its Table 2 and Figures 3 and 4) on the real networks of :mod:`golden.models`, quantizing
the activations only (weights float32, as the paper does), every layer with one static ``absmax``
calibrated on the calibration split.

Rows, every one on the same evaluation samples of a model:

* ``fp32``;
* at each ``N`` of ``--bits``: ``direct[N=n]``, ``pot[N=n]``, ``noisyquant[N=n]`` (the baselines of
  :mod:`golden.edqa.baselines`) and ``edqa[N=n,m=3,r=0.4]`` (:class:`golden.edqa.EDQAScheme`);
* the control of the ranking, at each ``N``: ``edqa-random[N=n,m=3,r=0.4,seed=s]`` for the seeds
  0, 1, 2: eDQA with the same number of important channels per layer, drawn at random (a uniform
  permutation of each layer's channels from ``random.Random(seed)``) instead of by Algorithm 3, so
  that what the ranking itself contributes can be read off;
* the sweeps at ``N = 3`` (Figures 3 and 4): ``ratio`` r = 0, 0.1, ..., 0.9, 1 with m = 3, and
  ``extra_bits`` m = 1, 2, 3 with r = 0.4. r = 0 is Direct; r = 1 is Direct at ``N + m`` bits.

Every row also records the quantization error of the activations (``error``): the relative RMS
error ``||x_deq - x|| / ||x||`` of every layer input during the evaluation (pooled over all elements
of all layers, and the mean of the per-layer figures). The channel rankings (Algorithm 3,
:mod:`golden.edqa.ranking`) are computed once per ``N`` and cached under ``build/edqa/ranking/``;
their computing time is recorded (``ranking``). The section is rewritten after every row; the plots
``edqa_ratio.png`` and ``edqa_extra_bits.png`` are drawn next to the results file at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from qaccel.results import command_line, package_versions, section, write_section

from golden.evaluate import quantized, study_models
from golden.models import get_network

from .baselines import DirectScheme, NoisyQuantScheme, PoTScheme
from .layer import quantization_error
from .ranking import DEFAULT_SENTENCES, network_ranking, ranking_path
from .scheme import EDQAScheme

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "results" / "edqa.json"
SECTION = "accuracy"
BITS = (3, 4, 5)
M_EXTRA = 3
RATIO = 0.4
SWEEP_BITS = 3
SWEEP_RATIOS = tuple(i / 10 for i in range(11))
SWEEP_EXTRA = (1, 2, 3)
CONTROL_SEEDS = (0, 1, 2)
PLOTS = {"ratio": "edqa_ratio.png", "extra_bits": "edqa_extra_bits.png"}


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def study_arguments(ap: argparse.ArgumentParser, section_name: str) -> None:
    """The options every eDQA study takes: ``-o``, ``--models``, ``--sentences``, ``--threads``."""
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, help=f"results file (its section {section_name!r} is replaced)")
    ap.add_argument("--models", default="digits_cnn,minilm", help="comma-separated models (default digits_cnn,minilm)")
    ap.add_argument("--sentences", type=int, default=DEFAULT_SENTENCES,
                    help=f"calibration sentences of the minilm ranking (default {DEFAULT_SENTENCES})")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")


def checked_models(ap, args, section_name: str, positive: dict, check=None) -> list[str] | None:
    """Validate a study's arguments before any work: ``positive`` options (name -> value or None) must
    be >= 1 (an argparse error); the models, ``check()`` and the results file give one error line and
    None. Sets torch's thread count."""
    for name, value in {**positive, "--sentences": args.sentences, "--threads": args.threads}.items():
        if value is not None and value < 1:
            ap.error(f"{name} must be >= 1")
    try:
        models = study_models(args.models, args.output, section_name)
        if check is not None:
            check()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    torch.set_num_threads(args.threads)
    return models


def run_row(model: str, scheme, limit) -> dict:
    """Metrics, scheme, seconds (quantization, calibration and evaluation) and activation error of
    one row (``scheme`` None: fp32)."""
    net = get_network(model)
    start = time.perf_counter()
    qmodel = quantized(net, scheme)
    if scheme is not None:
        scheme.track_error = True  # from here: the evaluation data only (not a search's calibration passes)
    metrics = net.evaluate(qmodel, limit=limit)
    out = {"metrics": metrics, "scheme": scheme.config() if scheme else {"name": "fp32"},
           "seconds": round(time.perf_counter() - start, 2)}
    if scheme is not None:
        error = quantization_error(qmodel)
        out["error"] = {"pooled": round(error["pooled"], 6), "layer_mean": round(error["layer_mean"], 6)}
    return out


def random_ranking(rankings_or_layers: dict, seed: int) -> dict:
    """Layer -> a uniform random permutation of its channels (``random.Random(seed)``, layers in the
    order given); ``rankings_or_layers`` maps each layer to its channel count or to a ranking."""
    rng = random.Random(seed)
    out = {}
    for name, value in rankings_or_layers.items():
        channels = value if isinstance(value, int) else len(value)
        out[name] = rng.sample(range(channels), channels)
    return out


def rows_for(bits, rankings, sweeps: bool = True) -> dict:
    """Results key -> scheme factory (None for fp32), main table then sweeps, without repeats."""
    table = {"fp32": None}

    def edqa(n, m, r):
        return lambda: EDQAScheme(n, m, r, ranking=rankings.get(n))

    def control(n, seed):
        return lambda: EDQAScheme(n, M_EXTRA, RATIO, ranking=random_ranking(rankings[n].order, seed))

    for n in bits:
        table[f"direct[N={n}]"] = (lambda n=n: DirectScheme(n))
        table[f"pot[N={n}]"] = (lambda n=n: PoTScheme(n))
        table[f"noisyquant[N={n}]"] = (lambda n=n: NoisyQuantScheme(n))
        table[f"edqa[N={n},m={M_EXTRA},r={RATIO:g}]"] = edqa(n, M_EXTRA, RATIO)
        for seed in CONTROL_SEEDS:
            table[f"edqa-random[N={n},m={M_EXTRA},r={RATIO:g},seed={seed}]"] = control(n, seed)
    if not sweeps:
        return table
    for r in SWEEP_RATIOS:
        table.setdefault(f"edqa[N={SWEEP_BITS},m={M_EXTRA},r={r:g}]", edqa(SWEEP_BITS, M_EXTRA, r))
    for m in SWEEP_EXTRA:
        table.setdefault(f"edqa[N={SWEEP_BITS},m={m},r={RATIO:g}]", edqa(SWEEP_BITS, m, RATIO))
    return table


def summary(rows: dict, metric: str, bits) -> dict:
    """``table[method][N]`` (Table 2 layout) and the two sweeps, headline metric and error."""
    def pick(key):
        row = rows.get(key)
        if row is None:
            return None
        return {"metric": row["metrics"][metric], **({"error": row["error"]["pooled"]} if "error" in row else {})}

    table = {"fp32": pick("fp32")}
    for method, fmt in (("direct", "direct[N={n}]"), ("pot", "pot[N={n}]"), ("noisyquant", "noisyquant[N={n}]"),
                        ("edqa", f"edqa[N={{n}},m={M_EXTRA},r={RATIO:g}]")):
        table[method] = {str(n): pick(fmt.format(n=n)) for n in bits}
    table["edqa_random"] = {}
    for n in bits:  # the control: mean over the seeds that have run
        picked = [p for p in (pick(f"edqa-random[N={n},m={M_EXTRA},r={RATIO:g},seed={s}]") for s in CONTROL_SEEDS) if p]
        table["edqa_random"][str(n)] = None if not picked else {
            key: sum(p[key] for p in picked) / len(picked) for key in picked[0]} | {"seeds": len(picked)}
    ratio = [{"ratio": r, **(pick(f"edqa[N={SWEEP_BITS},m={M_EXTRA},r={r:g}]") or {})} for r in SWEEP_RATIOS]
    extra = [{"m_extra": m, **(pick(f"edqa[N={SWEEP_BITS},m={m},r={RATIO:g}]") or {})} for m in SWEEP_EXTRA]
    return {"metric": metric, "table": table, "ratio": ratio, "extra_bits": extra}


def plot(accuracy: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for sweep, xkey, xlabel, title in (
        ("ratio", "ratio", "important channel ratio r (%)", f"eDQA, N = {SWEEP_BITS} bits, m = {M_EXTRA}"),
        ("extra_bits", "m_extra", "extra bits m", f"eDQA, N = {SWEEP_BITS} bits, r = {RATIO:.0%}"),
    ):
        models = list(accuracy)
        fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False)
        pairs = ()
        for ax, model in zip(axes[0], models):
            s = accuracy[model]["summary"]
            points = [p for p in s[sweep] if "metric" in p]
            xs = [p[xkey] * (100 if sweep == "ratio" else 1) for p in points]
            ax.plot(xs, [p["metric"] for p in points], "o-", color="#36c", label="eDQA (left axis)")
            direct = (s["table"]["direct"].get(str(SWEEP_BITS)) or {}).get("metric")
            fp32 = (s["table"]["fp32"] or {}).get("metric")
            if direct is not None:
                ax.axhline(direct, color="#c66", ls="--", lw=1, label=f"Direct {SWEEP_BITS}-bit")
            if fp32 is not None:
                ax.axhline(fp32, color="#555", ls=":", lw=1, label="FP32")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(s["metric"], color="#36c")
            if sweep == "extra_bits":
                ax.set_xticks(xs)
            err = ax.twinx()
            err.plot(xs, [p["error"] * 100 for p in points], "s--", color="#e90", label="eDQA activation error (right axis)")
            err.set_ylabel("relative RMS error of activations (%)", color="#e90")
            err.set_ylim(0, max(p["error"] for p in points) * 110)
            ax.set_title(f"{model} ({accuracy[model]['samples']} samples)")
            pairs = pairs if model != models[0] else (ax, err)
        handles, labels = [], []
        for a in pairs:  # the first model's metric and error axes: the same lines in every panel
            h, lab = a.get_legend_handles_labels()
            handles, labels = handles + h, labels + lab
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
        fig.suptitle(title)
        fig.tight_layout(rect=(0, 0.07, 1, 0.95))
        path = folder / PLOTS[sweep]
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.edqa.accuracy", description=__doc__.splitlines()[0])
    study_arguments(ap, SECTION)
    ap.add_argument("--bits", default=",".join(map(str, BITS)), help="comma-separated N of the main table (default 3,4,5)")
    ap.add_argument("--limit", type=int, help="evaluation samples of every model (default: all)")
    ap.add_argument("--minilm-limit", type=int, help="evaluation sentences of minilm (default: --limit, else all 1024)")
    ap.add_argument("--no-sweeps", action="store_true", help="main table only (no ratio / extra-bit sweeps)")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    try:
        bits = _ints(args.bits)
    except ValueError:
        ap.error("--bits takes comma-separated integers")
    models = checked_models(ap, args, SECTION, {"--limit": args.limit, "--minilm-limit": args.minilm_limit},
                            check=lambda: [DirectScheme(n) for n in bits])
    if models is None:
        return 2
    sweep_bits = () if args.no_sweeps else (SWEEP_BITS,)
    config = {
        "models": models, "bits": list(bits), "m_extra": M_EXTRA, "ratio": RATIO, "limit": args.limit,
        "minilm_limit": args.minilm_limit, "ranking_sentences": args.sentences, "threads": args.threads,
        "sweeps": None if args.no_sweeps else {"bits": SWEEP_BITS, "ratios": list(SWEEP_RATIOS), "m_extra": list(SWEEP_EXTRA)},
        "weights": "float32 (activations only)", "absmax": "static per layer, calibrated on the calibration split",
        "error": "relative RMS error ||x_deq - x|| / ||x|| of every layer input during the evaluation",
    }
    path = Path(args.output)
    accuracy: dict = {}

    def save():
        write_section(path, SECTION, section(
            command=command_line("python -m golden.edqa.accuracy", argv),
            tools=package_versions("torch", "transformers", "scikit-learn", "numpy"),
            config=config,
            data=accuracy,
        ))

    for model in models:
        net = get_network(model)
        limit = (args.minilm_limit or args.limit) if model == "minilm" else args.limit
        rankings, ranking_info = {}, {}
        for n in sorted(set(bits) | set(sweep_bits)):
            start = time.perf_counter()
            rankings[n] = network_ranking(net, n, sentences=args.sentences)
            ranking_info[str(n)] = {"seconds_computed": rankings[n].seconds, "seconds_now": round(time.perf_counter() - start, 2),
                                    "cache": str(ranking_path(rankings[n].settings).relative_to(REPO)),
                                    "settings": rankings[n].settings, "most_important": rankings[n].most_important()}
        table = rows_for(bits, rankings, sweeps=not args.no_sweeps)
        results: dict = {}
        accuracy[model] = {"metric": net.metric, "limit": limit, "ranking": ranking_info, "rows": results}
        for key, factory in tqdm(table.items(), desc=model, unit="row", file=sys.stderr):
            results[key] = run_row(model, factory() if factory else None, limit)
            shown = ", ".join(f"{k}={v:.4f}" for k, v in results[key]["metrics"].items() if k != "samples")
            if "error" in results[key]:
                shown += f", error={results[key]['error']['pooled']:.4f}"
            tqdm.write(f"{model} {key}: {shown} ({results[key]['seconds']} s)", file=sys.stderr)
            accuracy[model]["samples"] = results["fp32"]["metrics"].get("samples")
            accuracy[model]["summary"] = summary(results, net.metric, bits)
            save()
    written = [] if args.no_sweeps else plot(accuracy, path.parent)
    for model, result in accuracy.items():
        s = result["summary"]
        print(f"{model} ({result['samples']} samples, {s['metric']}): fp32 {s['table']['fp32']['metric']:.4f}")
        for method in ("direct", "pot", "noisyquant", "edqa", "edqa_random"):
            print(f"  {method:<10} " + "  ".join(f"N={n}: {v['metric']:.4f}" for n, v in s["table"][method].items() if v))
    print(f"wrote section {SECTION!r} of {path}" + "".join(f" and {p}" for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
