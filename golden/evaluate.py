"""Evaluate networks under quantization schemes; the results are one section of a results file.

    python -m golden.evaluate --model digits_cnn --scheme int8
    python -m golden.evaluate --model minilm --scheme int4 --abits 8 --limit 200
    python -m golden.evaluate --model digits_cnn,minilm --scheme fp32,int8,int4,int2,w4a8 --threads 1 \\
        -o docs/results/networks.json --section baselines   # regenerates the committed results
    python -m golden.evaluate --table docs/results/networks.json --section baselines   # markdown tables

``--scheme fp32`` is the unquantized model. Scheme options: ``--wbits``, ``--abits``, ``--asym``
(asymmetric activations) and ``--opt KEY=VALUE`` go to the scheme factory
(:func:`golden.schemes.get_scheme`). ``--limit N`` evaluates the first N evaluation samples only
(slow schemes).

The run replaces section ``--section`` (default ``evaluate``) of the results file ``-o`` (see
:mod:`qaccel.results`): ``command`` (this command line), ``tools``, ``config`` (models, schemes,
options) and ``data``, which maps ``model -> key -> entry``. The key is the scheme label, with
``[k=v,...]`` for ``--opt`` options and ``@N`` for ``--limit N`` unless ``--key`` names it; an entry
holds the metrics, the scheme configuration, the data description, the run time and the versions.
The section is written after every evaluation, so an interrupted run keeps what it finished.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import platform
import sys
import time
from pathlib import Path

import torch

from qaccel.results import command_line, package_versions, read_section, section, write_section

from . import quant, schemes
from .models import Network, get_network, network_names

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = REPO / "build" / "results" / "evaluate.json"
DEFAULT_SECTION = "evaluate"
FP32 = "fp32"


def make_scheme(name: str, wbits=None, abits=None, asym=False, options: dict | None = None) -> quant.Scheme | None:
    """The scheme ``name`` with command-line style overrides; None for ``fp32``."""
    if name == FP32:
        if wbits or abits or asym or options:
            raise ValueError("fp32 takes no scheme options")
        return None
    kwargs = dict(options or {})
    if wbits is not None:
        kwargs["wbits"] = wbits
    if abits is not None:
        kwargs["abits"] = abits
    if asym:
        kwargs["asymmetric"] = True
    return schemes.get_scheme(name, **kwargs)


def quantized(net: Network, scheme: quant.Scheme | None, include=None, exclude=None):
    """``net``'s FP32 model, or a copy quantized with ``scheme`` and calibrated on its calibration split."""
    model = net.load()
    if scheme is None:
        return model
    return quant.quantize_model(model, scheme, net.calibrate, include=include, exclude=exclude)


def evaluate(
    model: str,
    scheme: str | quant.Scheme | None,
    limit: int | None = None,
    include=None,
    exclude=None,
    progress: bool = False,
) -> dict:
    """Metrics of network ``model`` under ``scheme`` (a name, a Scheme, or None / "fp32")."""
    net = get_network(model)
    if isinstance(scheme, str):
        scheme = make_scheme(scheme)
    start = time.perf_counter()
    qmodel = quantized(net, scheme, include, exclude)
    metrics = net.evaluate(qmodel, limit=limit, progress=progress)
    return {
        "metrics": metrics,
        "scheme": scheme.config() if scheme else {"name": FP32},
        "limit": limit,
        "include": list(include) if include else None,
        "exclude": list(exclude) if exclude else None,
        "seconds": round(time.perf_counter() - start, 2),
        "model_info": net.info(),
        "env": {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads()},
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def check_results_file(path: Path, name: str) -> None:
    """Raise ``ValueError`` when ``path`` exists but cannot take section ``name`` (not JSON, or not in
    the layout of :mod:`qaccel.results`), so that a long run fails before it starts, not at the end."""
    if not Path(path).exists():
        return
    try:
        read_section(path, name)
    except KeyError:
        pass  # a new section in a valid file
    except ValueError as exc:
        raise ValueError(f"{path} is not a results file of qaccel.results ({exc}); move it away or use another file") from None


def study_models(models: str, output: Path, name: str) -> list[str]:
    """The models of a study's comma-separated ``--models``, each checked to exist, and its results
    file checked to take section ``name`` (:func:`check_results_file`): ``ValueError`` before any work."""
    names = models.split(",")
    for model in names:
        get_network(model)
    check_results_file(output, name)
    return names


def error_message(exc: Exception) -> str:
    """One readable line for an expected error (``KeyError`` quotes its message otherwise)."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def markdown_table(data: dict) -> str:
    """One table per model: scheme key -> metrics (without ``samples``), plus samples and seconds."""
    out = []
    for model in data:
        rows = data[model]
        metric_keys = sorted({k for e in rows.values() for k in e["metrics"] if k != "samples"})
        out.append(f"**{model}**\n")
        out.append("| scheme | " + " | ".join(metric_keys) + " | samples | seconds |")
        out.append("|---" * (len(metric_keys) + 3) + "|")
        order = sorted(rows, key=lambda k: (k != FP32, -rows[k]["scheme"].get("wbits", 99), k))
        for key in order:
            e = rows[key]
            cells = [f"{e['metrics'][k]:.4f}" if k in e["metrics"] else "" for k in metric_keys]
            out.append(f"| {key} | " + " | ".join(cells) + f" | {e['metrics'].get('samples', '')} | {e['seconds']} |")
        out.append("")
    return "\n".join(out)


def parse_options(items) -> dict:
    opts = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--opt expects KEY=VALUE, got {item!r}")
        try:
            opts[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            opts[key] = value
    return opts


def add_scheme_args(ap: argparse.ArgumentParser, multiple: bool) -> None:
    names = ", ".join([FP32] + schemes.scheme_names()) if multiple else ", ".join(schemes.scheme_names())
    ap.add_argument("--scheme", required=True, help=("comma-separated " if multiple else "") + f"scheme name ({names})")
    ap.add_argument("--wbits", type=int, help="weight bits (overrides the scheme's)")
    ap.add_argument("--abits", type=int, help="activation bits (overrides the scheme's)")
    ap.add_argument("--asym", action="store_true", help="asymmetric (unsigned, zero point) activations")
    ap.add_argument("--opt", action="append", metavar="KEY=VALUE", help="scheme factory option (repeatable)")
    ap.add_argument("--include", action="append", metavar="GLOB", help="quantize only layers matching (repeatable)")
    ap.add_argument("--exclude", action="append", metavar="GLOB", help="keep matching layers in FP32 (repeatable)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--model", help=f"comma-separated model names ({', '.join(network_names())})")
    ap.add_argument("--limit", type=int, help="evaluate the first N evaluation samples only")
    ap.add_argument("--key", help="results key (default: scheme label)")
    ap.add_argument("-o", "--results", type=Path, default=DEFAULT_RESULTS, help="results file whose section is replaced")
    ap.add_argument("--section", default=DEFAULT_SECTION, help=f"section written (-o) or read (--table) (default {DEFAULT_SECTION})")
    ap.add_argument("--no-save", action="store_true", help="print only")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--table", type=Path, metavar="FILE", help="print the markdown tables of a results section and exit")
    if argv is None:
        argv = sys.argv[1:]
    if "--table" in argv:
        args, _ = ap.parse_known_args(argv)
        try:
            print(markdown_table(read_section(args.table, args.section)["data"]))
        except (OSError, KeyError, ValueError) as exc:
            print(f"error: {error_message(exc)}", file=sys.stderr)
            return 2
        return 0
    add_scheme_args(ap, multiple=True)
    args = ap.parse_args(argv)
    if not args.model:
        ap.error("--model is required")
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be >= 1")
    try:
        options = parse_options(args.opt)
        jobs = []
        for model in args.model.split(","):
            get_network(model)
            for name in args.scheme.split(","):
                jobs.append((model, name, make_scheme(name, args.wbits, args.abits, args.asym, options)))
        if not args.no_save:
            check_results_file(args.results, args.section)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.key and len(jobs) > 1:
        ap.error("--key needs a single model and scheme")
    config = {
        "models": args.model.split(","),
        "schemes": args.scheme.split(","),
        "limit": args.limit,
        "threads": torch.get_num_threads(),
        "options": {"wbits": args.wbits, "abits": args.abits, "asymmetric": args.asym, "opt": options},
        "include": args.include,
        "exclude": args.exclude,
        "key": args.key,
    }
    data: dict[str, dict] = {}
    for model, name, scheme in jobs:
        key = args.key or (scheme.label if scheme else FP32)
        if not args.key and options:
            key += "[" + ",".join(f"{k}={v}" for k, v in sorted(options.items())) + "]"
        if not args.key and args.limit is not None:
            key += f"@{args.limit}"
        result = evaluate(model, scheme, args.limit, args.include, args.exclude, progress=True)
        shown = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result["metrics"].items())
        print(f"{model} {key}: {shown} ({result['seconds']} s)", flush=True)
        data.setdefault(model, {})[key] = result
        if not args.no_save:
            write_section(args.results, args.section, section(
                command=command_line("python -m golden.evaluate", argv),
                tools=package_versions("torch", "transformers", "scikit-learn"),
                config=config,
                data=data,
            ))
    if not args.no_save:
        print(f"wrote section {args.section!r} of {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
