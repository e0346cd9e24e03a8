"""The paper's Fig. 6 measure: how many of the term products of multiplications that involve an
outlier SBQ computes, with and without compensation.

    python -m golden.sbq.outliers [-o docs/results/sbq.json] [--models digits_cnn,minilm] [--rows 64] [--sigmas 3]
    python -m golden.sbq.outliers --table     # the docs table from the results file

"SBQ: Exploiting Significant Bits for Efficient and Accurate Post-Training DNN Quantization"
(J. Ling et al., DATE 2025) shows in its Fig. 6 "the percentage of terms calculated among
multiplications with at least one outlier", and reports that compensation computes 12.86, 17.17 and
17.01 % more of them at B = 4, 3, 2. The paper does not say what an outlier is; we define:

* **Outlier.** An operand code whose distance from its tensor's mean exceeds ``sigmas`` (default 3)
  standard deviations, ``|x - mean| > sigmas * std``, with the mean and standard deviation of the codes
  of that tensor: a layer's int8 activation codes (the rows measured) or its int4 weight codes (the
  whole layer). A multiplication *involves an outlier* when its activation or its weight is one.
* **Share of term products computed.** Over the multiplications of a set, the term pairs SBQ
  computes (the first ``min(B, n)`` ranked pairs of each, plus those of its queued pairs that spare
  cycles pop later) divided by all their term pairs ``n``. A pair counts for the multiplication it
  belongs to, wherever it is computed.

Measured on the W4A8 codes of every layer of each model (:func:`golden.export.export_layers`,
``--rows`` rows per layer from as many evaluation samples, as the accuracy study's ``dot_error``), at
B = 2, 3, 4 with ``C = 0`` and with the accuracy study's compensation ``C = B``, ``D = 4``, 16 lanes.
The counts run on the golden kernel itself (:func:`golden.sbq.kernel.table_matrix`) with a table
whose "pair values" are 1 for a pair of a multiplication in the set and 0 otherwise, so the queue
semantics are exactly those of the dot; :func:`count_reference` is the sequential definition the
tests compare it with. Writes section ``outliers`` of the results file and ``sbq_outliers.png``.
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from pathlib import Path

import torch
from tqdm import tqdm

from qaccel.results import command_line, package_versions, print_section, section, write_section

from .kernel import _kernel, lane_table, table_matrix, table_wbits
from .model import _pair_table, check_dot_params, rank_pairs

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "results" / "sbq.json"
SECTION = "outliers"
BUDGETS = (2, 3, 4)
DEPTH = 4
LANES = 16
#: The paper's Fig. 6 gains (percentage of terms computed in outlier multiplications, compensation
#: minus none), by budget.
PAPER_GAIN = {4: 12.86, 3: 17.17, 2: 17.01}


def outlier_values(codes: torch.Tensor, sigmas: float, bits: int) -> torch.Tensor:
    """Bool ``[2**bits]``: which of the codes ``-2**(bits-1) .. 2**(bits-1) - 1`` are outliers of the
    tensor ``codes`` (``|x - mean| > sigmas * std``)."""
    codes = codes.double().flatten()
    mean, std = codes.mean(), codes.std(unbiased=False)
    values = torch.arange(-(1 << (bits - 1)), 1 << (bits - 1)).double()
    return (values - mean).abs() > sigmas * std


def count_table(budget: int, comp: int, wbits: int, members: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A kernel table (:func:`golden.sbq.kernel.lane_table`'s layout) whose sums count term pairs:
    ``members`` (bool ``[256, 2**wbits]``, indexed by ``a + 128``, ``w + 2**(wbits-1)``) marks the
    multiplications counted; each of their computed or queued pairs is worth 1, any other pair 0.
    The queue behaviour (how many pairs are offered, pushed and popped) is that of the dot."""
    table, ceff = lane_table(budget, comp, wbits)
    half = 1 << (wbits - 1)
    rows = ((torch.arange(256)[:, None]) * 256 + (torch.arange(-half, half)[None, :] + 128)).reshape(-1)
    count = _pair_table()[1][rows].to(torch.int64)
    member = members.reshape(-1).to(torch.int64)
    delta = table[:, 0].to(torch.int64) & 0xFFFF
    out = torch.zeros_like(table, dtype=torch.int64)
    out[:, 0] = count.clamp(max=budget) * member * 65536 + delta
    out[:, 1:] = torch.arange(ceff + 1)[None, :] * member[:, None]
    return out.to(torch.int32).contiguous(), ceff


def pair_counts(a: torch.Tensor, w: torch.Tensor, budget: int, comp: int, depth: int, lanes: int,
                members: torch.Tensor, lib=None) -> int:
    """Term pairs computed in the multiplications marked in ``members`` over every inner product of
    ``a`` ``[N, L]`` by ``w`` ``[O, L]`` (int4-range weights), with the C kernel. At ``budget = 16,
    comp = 0`` this is the number of all their term pairs."""
    check_dot_params(budget, comp, depth, lanes)
    lib = lib or _kernel()
    if lib is None:
        raise RuntimeError("the C kernel is unavailable (no C compiler)")
    if table_wbits(w) != 4:
        raise ValueError("pair_counts takes int4-range weights (the W4A8 codes)")
    table, ceff = count_table(budget, comp, 4, members)
    return int(table_matrix(lib, a, w, table, ceff, 4, depth, lanes).sum())


def count_reference(a, w, budget: int, comp: int, depth: int, lanes: int, member) -> tuple[int, int]:
    """Sequential definition for one inner product: ``(computed, total)`` term pairs of the
    multiplications ``(a[k], w[k])`` for which ``member(a[k], w[k])`` is true (the lane and queue
    rules of :func:`golden.sbq.model.dot_reference`, each queued pair tagged with its
    multiplication)."""
    check_dot_params(budget, comp, depth, lanes)
    a, w = [int(v) for v in a], [int(v) for v in w]
    length = -(-len(a) // lanes) * lanes
    a += [0] * (length - len(a))
    w += [0] * (length - len(w))
    computed = total = 0
    for lane in range(lanes):
        queue: deque[bool] = deque()
        for k in range(lane, length, lanes):
            n = len(rank_pairs(a[k], w[k]))
            tagged = bool(member(a[k], w[k]))
            total += n * tagged
            computed += min(budget, n) * tagged
            for _ in range(min(comp, max(n - budget, 0))):
                if len(queue) < depth:
                    queue.append(tagged)
            for _ in range(max(budget - n, 0)):
                if queue:
                    computed += queue.popleft()
    return computed, total


def measure(layers, sigmas: float, budgets=BUDGETS, depth: int = DEPTH, lanes: int = LANES) -> dict:
    """Shares of term pairs computed over all layers ``[(a_codes, w_codes), ...]`` (W4A8 codes), in
    the multiplications with an outlier (``outlier``), without one (``other``) and in all (``all``)."""
    lib = _kernel()
    marked = []
    mults = {"outlier": 0, "all": 0}
    for a, w in layers:
        a_out, w_out = outlier_values(a, sigmas, 8), outlier_values(w, sigmas, 4)
        outlier = a_out[:, None] | w_out[None, :]
        marked.append((a, w, {"outlier": outlier, "all": torch.ones_like(outlier)}))
        rows_out = a_out[a + 128].sum(0)  # per position k: rows whose activation is an outlier
        weights_out = w_out[w + 8].sum(0)  # per position k: weights that are outliers
        n, o = a.shape[0], w.shape[0]
        mults["outlier"] += int((rows_out * o + (n - rows_out) * weights_out).sum())
        mults["all"] += n * o * a.shape[1]
    mults["other"] = mults["all"] - mults["outlier"]

    def counted(budget, comp, dep):
        sums = {"outlier": 0, "all": 0}
        for a, w, members in marked:
            for name, member in members.items():
                sums[name] += pair_counts(a, w, budget, comp, dep, lanes, member, lib)
        sums["other"] = sums["all"] - sums["outlier"]
        return sums

    pairs = counted(16, 0, 0)  # every pair computed: all term pairs of each set
    out = {"multiplications": mults, "pairs": pairs,
           "outlier_multiplication_share": round(mults["outlier"] / mults["all"], 6),
           "pairs_per_multiplication": {k: round(pairs[k] / mults[k], 4) if mults[k] else None for k in mults}}
    configs = [(b, c) for b in budgets for c in (0, b)]
    for budget, comp in tqdm(configs, desc="configurations", file=sys.stderr):
        computed = counted(budget, comp, depth)
        out[f"B={budget},C={comp}"] = {k: {"computed": computed[k], "share": round(computed[k] / pairs[k], 6) if pairs[k] else None}
                                       for k in computed}
    for budget in budgets:
        with_c, without = out[f"B={budget},C={budget}"]["outlier"]["share"], out[f"B={budget},C=0"]["outlier"]["share"]
        out[f"gain[B={budget}]"] = {"percentage_points": round(100 * (with_c - without), 2),
                                    "relative_percent": round(100 * (with_c / without - 1), 2)}
    return out


def plot(data: dict, path: Path, sigmas: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(data)
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        result = data[model]
        x = range(len(BUDGETS))
        for offset, (comp_name, color, hatch) in enumerate((("C=0", "#9bd", ""), ("C=B", "#36c", ""))):
            for kind, alpha in (("outlier", 1.0),):
                values = [100 * result[f"B={b},C={0 if comp_name == 'C=0' else b}"][kind]["share"] for b in BUDGETS]
                bars = ax.bar([i + 0.38 * offset - 0.19 for i in x], values, 0.36, color=color, alpha=alpha,
                              label=f"{comp_name}, multiplications with an outlier")
                for bar, v in zip(bars, values):
                    ax.text(bar.get_x() + bar.get_width() / 2, v + 1, f"{v:.1f}", ha="center", fontsize=8)
        for offset, comp in ((0, "C=0"), (1, "C=B")):
            values = [100 * result[f"B={b},C={0 if comp == 'C=0' else b}"]["all"]["share"] for b in BUDGETS]
            ax.plot([i + 0.38 * offset - 0.19 for i in x], values, "k_", markersize=18, label="all multiplications" if offset == 0 else None)
        ax.set_xticks(list(x), [f"B={b}" for b in BUDGETS])
        ax.set_ylim(0, 105)
        ax.set_ylabel("term products computed (%)")
        share = 100 * result["outlier_multiplication_share"]
        ax.set_title(f"{model}: {share:.2f} % of multiplications involve an outlier")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Term products computed in multiplications with an outlier (|x - mean| > {sigmas:g} std), SBQ D=4, 16 lanes")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(data: dict) -> str:
    """The docs table of a section's ``data``: shares in percent per model, budget and compensation."""
    lines = ["| model | B | outlier multiplications: C = 0 | C = B | gain (points) | gain (relative) | paper gain (points) | all multiplications: C = 0 | C = B |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for model, result in data.items():
        for b in sorted(BUDGETS, reverse=True):
            none, comp = result[f"B={b},C=0"], result[f"B={b},C={b}"]
            gain = result[f"gain[B={b}]"]
            lines.append(f"| {model} | {b} | {100 * none['outlier']['share']:.2f} % | {100 * comp['outlier']['share']:.2f} % | "
                         f"+{gain['percentage_points']:.2f} | +{gain['relative_percent']:.2f} % | +{PAPER_GAIN[b]:.2f} | "
                         f"{100 * none['all']['share']:.2f} % | {100 * comp['all']['share']:.2f} % |")
    return "\n".join(lines)


def main(argv=None) -> int:
    from golden.evaluate import study_models

    from .accuracy import _codes

    ap = argparse.ArgumentParser(prog="python -m golden.sbq.outliers", description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, help=f"results file (its section {SECTION!r} is replaced)")
    ap.add_argument("--models", default="digits_cnn,minilm", help="comma-separated models")
    ap.add_argument("--rows", type=int, default=64, help="activation rows per layer, from as many samples (default 64)")
    ap.add_argument("--sigmas", type=float, default=3.0, help="outlier: |x - mean| > SIGMAS std of its tensor (default 3)")
    ap.add_argument("--table", action="store_true", help="print the docs table from the results file and exit")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    if args.table:
        return print_section(args.output, SECTION, markdown)
    if args.rows < 1 or args.sigmas <= 0:
        ap.error("--rows must be >= 1 and --sigmas > 0")
    try:
        models = study_models(args.models, args.output, SECTION)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if _kernel() is None:
        print("error: the C kernel is unavailable (no C compiler)", file=sys.stderr)
        return 2
    data = {}
    for model in models:
        layers = _codes(model, 4, args.rows, args.rows)
        data[model] = {"layers": len(layers), **measure(layers, args.sigmas)}
        for budget in BUDGETS:
            shares = [data[model][f"B={budget},C={c}"]["outlier"]["share"] for c in (0, budget)]
            gain = data[model][f"gain[B={budget}]"]
            print(f"{model} B={budget}: outlier multiplications {100 * shares[0]:.2f} % (C=0) -> {100 * shares[1]:.2f} % "
                  f"(C=B) of their term products, +{gain['percentage_points']} points (paper +{PAPER_GAIN[budget]})")
    path = Path(args.output)
    write_section(path, SECTION, section(
        command=command_line("python -m golden.sbq.outliers", argv),
        tools=package_versions("torch", "transformers"),
        config={"models": models, "rows": args.rows, "sigmas": args.sigmas, "budgets": list(BUDGETS),
                "compensation": ["C = 0", "C = B"], "depth": DEPTH, "lanes": LANES, "base": "W4A8 codes",
                "outlier": "|x - mean| > sigmas * std of the tensor's codes (layer activations, layer weights)",
                "share": "term pairs computed (directly or popped from the queue) / all term pairs of the set",
                "paper_gain_percent": {f"B={b}": g for b, g in PAPER_GAIN.items()}},
        data=data,
    ))
    plot(data, path.with_name("sbq_outliers.png"), args.sigmas)
    print(f"wrote section {SECTION!r} of {path} and {path.with_name('sbq_outliers.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
