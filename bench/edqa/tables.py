"""The markdown tables of ``docs/results/edqa.json`` that ``docs/edqa.md`` shows.

    python -m bench.edqa.tables [-o docs/results/edqa.json] [SECTION ...]

Reads the results file only (nothing is measured) and prints, for each section present (default:
all): ``accuracy`` (the paper's Table 2 layout with the random-ranking control, and the two sweeps),
``compression`` (Table 1 in our flow), ``performance`` (latency against Table 3, resources against
Table 4), ``mutants`` (the planted bugs and the tests that caught them), ``end_to_end`` (the PYNQ-Z1
system's latency with its DMA), ``pynq_z1`` (the whole top level against the xc7z020) and
``pynq_z1_mutants`` (the system's planted bugs). The cost tables come from
``python -m bench.cost edqa --table``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qaccel.results import read_section

DEFAULT = Path(__file__).resolve().parents[2] / "docs" / "results" / "edqa.json"
SECTIONS = ("accuracy", "compression", "performance", "mutants", "end_to_end", "pynq_z1", "pynq_z1_mutants")


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def accuracy_tables(section: dict) -> list[str]:
    lines = []
    for model, result in section["data"].items():
        s = result["summary"]
        metric = s["metric"]
        scale = _pct if metric == "accuracy" else (lambda v: "-" if v is None else f"{v:.4f}")
        bits = list(s["table"]["direct"])
        lines += [f"**{model}** ({result['samples']} evaluation samples, {metric}"
                  f"{' in %' if metric == 'accuracy' else ' with the FP32 embeddings'}; FP32: "
                  f"{scale(s['table']['fp32']['metric'])}). Activation error (relative RMS) in parentheses.", "",
                  "| method | " + " | ".join(f"{n} bits" for n in bits) + " |",
                  "| --- |" + " ---: |" * len(bits)]
        names = {"direct": "Direct", "pot": "PoT", "noisyquant": "NoisyQuant", "edqa": "eDQA (m = 3, r = 40%)",
                 "edqa_random": "eDQA, random channels (mean of 3 seeds)"}
        for method, label in names.items():
            cells = []
            for n in bits:
                entry = s["table"].get(method, {}).get(n)
                cells.append("-" if not entry else f"{scale(entry['metric'])} ({entry['error']:.3f})")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        ratio = [p for p in s["ratio"] if "metric" in p]
        extra = [p for p in s["extra_bits"] if "metric" in p]
        lines += ["", f"Sweeps at N = 3 ({model}): r with m = 3, and m with r = 40%.", "",
                  "| r | " + " | ".join(f"{p['ratio']:.0%}" for p in ratio) + " |",
                  "| --- |" + " ---: |" * len(ratio),
                  f"| {metric} | " + " | ".join(scale(p["metric"]) for p in ratio) + " |",
                  "| error | " + " | ".join(f"{p['error']:.3f}" for p in ratio) + " |", "",
                  "| m | " + " | ".join(str(p["m_extra"]) for p in extra) + " |",
                  "| --- |" + " ---: |" * len(extra),
                  f"| {metric} | " + " | ".join(scale(p["metric"]) for p in extra) + " |",
                  "| error | " + " | ".join(f"{p['error']:.3f}" for p in extra) + " |", ""]
    return lines


def compression_tables(section: dict) -> list[str]:
    lines = ["| model | packets | mean length | entropy bound | method | ratio | encode (us) | decode (us) |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for model, result in section["data"].items():
        for k, (method, r) in enumerate(result["methods"].items()):
            head = (f"| {model} | {result['packets']} | {result['mean_packet_length']} | {result['entropy_ratio']} "
                    if k == 0 else "| | | | ")
            ratio = f"{r['ratio']}" + (f" (payload {r['payload_ratio']})" if "payload_ratio" in r else "")
            lines.append(f"{head}| {method} | {ratio} | {r['encode_us']} | {r['decode_us']} |")
    return lines


def performance_tables(section: dict) -> list[str]:
    d = section["data"]
    lines = [f"At FCLK = {d['fclk_mhz']} MHz (ECP5 Fmax of the core: {d['fmax_ecp5_mhz']} MHz).", "",
             "| channel size | quantize + encode (cycles) | (us) | paper (us) | speed-up | decode + de-quantize (cycles) "
             "| (us) | paper (us) | speed-up |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, cycles in d["latency_cycles"].items():
        us, paper, up = d["latency_us"][size], d["paper_latency_us"][size], d["speedup_over_paper"][size]
        lines.append(f"| {size} | {cycles['quant']} | {us['quant']} | {paper['quant']} | {up['quant']}x | "
                     f"{cycles['dequant']} | {us['dequant']} | {paper['dequant']} | {up['dequant']}x |")
    r, p, share = d["resources_xc7z020"], d["paper_resources_xc7z020"], d["resources_share_of_paper"]
    lines += ["", "| xc7z020 (yosys `synth_xilinx`) | LUT | FF | DSP | BRAM |", "| --- | ---: | ---: | ---: | ---: |",
              f"| `edqa` core | {r['lut']} | {r['ff']} | {r['dsp']} | {r['bram']} |",
              f"| paper (Table 4) | {p['lut']} | {p['ff']} | {p['dsp']} | {p['bram']} |",
              f"| share of the paper | {share['lut']:.1%} | {share['ff']:.1%} | {share['dsp']:.1%} | {share['bram']:.1%} |",
              "", "Targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in d["targets"].items()) + "."]
    return lines


def mutant_tables(section: dict) -> list[str]:
    d = section["data"]
    lines = [f"`{section['command']}`: {d['caught']} of {len(d['mutants'])} caught"
             f"{'; survived: ' + ', '.join(d['survived']) if d['survived'] else ''}.", "",
             "| planted bug | file | default tests that failed |", "| --- | --- | --- |"]
    for name, r in d["mutants"].items():
        tests = ", ".join(f"`{t.split('::')[-1]}`" for t in r["failed"][:4]) + (" ..." if len(r["failed"]) > 4 else "")
        lines.append(f"| {r['bug']} | `{r['path']}` | {len(r['failed'])}{': ' + tests if tests else ' (survived)'} |")
    return lines


def end_to_end_tables(section: dict) -> list[str]:
    fclk = section["config"]["fclk_mhz"]
    lines = [f"FCLK0 cycles from `CONTROL.start` to `STATUS.done` ({section['config']['simulator']}, DDR without stalls), "
             f"microseconds at {fclk} MHz; the core alone beside them.", "",
             "| channel size | quantize (cycles) | core | (us) | paper (us) | de-quantize (cycles) | core | packet words | (us) | paper (us) |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, f in section["data"]["sizes"].items():
        lines.append(f"| {size} | {f['quantize']} | {f['core_quantize']} | {f['quantize_us']} | {f['paper_quantize_us']} | "
                     f"{f['dequantize']} | {f['core_dequantize']} | {f['packet_words']} | {f['dequantize_us']} | "
                     f"{f['paper_dequantize_us']} |")
    return lines


def board_tables(section: dict) -> list[str]:
    d = section["data"]
    counts, share, capacity = d["counts"], d["utilization_percent"], section["config"].get("capacity", {})
    lines = ["| whole top level (yosys `synth_xilinx`) | LUT | FF | DSP | BRAM36 |", "| --- | ---: | ---: | ---: | ---: |",
             f"| used | {counts['lut']} | {counts['ff']} | {counts['dsp']} | {counts['bram36']} |"]
    if capacity:
        lines.append(f"| xc7z020 | {capacity['lut']} | {capacity['ff']} | {capacity['dsp']} | {capacity['bram36']} |")
    lines.append(f"| share | {share['lut']}% | {share['ff']}% | {share['dsp']}% | {share['bram36']}% |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edqa.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT, help="results file (default docs/results/edqa.json)")
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"{', '.join(SECTIONS)} (default: all present)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        print(f"error: no table for section {unknown[0]!r} (sections: {', '.join(SECTIONS)})", file=sys.stderr)
        return 2
    makers = {"accuracy": accuracy_tables, "compression": compression_tables, "performance": performance_tables,
              "mutants": mutant_tables,
              "end_to_end": end_to_end_tables, "pynq_z1": board_tables, "pynq_z1_mutants": mutant_tables}
    for name in args.sections or SECTIONS:
        try:
            value = read_section(args.output, name)
        except KeyError:
            if args.sections:
                print(f"error: {args.output} has no section {name!r}", file=sys.stderr)
                return 2
            continue
        print(f"### {name}\n\n" + "\n".join(makers[name](value)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
