"""Synthesis cost of the SBQ accelerator and of the Table V baseline sorters.

    python -m bench.sbq_cost [-o docs/results/sbq.json] [--quick] [--only PART ...]

Synthesizes every part with yosys ``synth_xilinx -family xc7`` (LUTs, FFs, DSPs, CARRY4s) and
``synth_ecp5`` + nextpnr-ecp5 (LUT4s, FFs, Fmax; see :mod:`bench.synth`), one tool at a time, and
writes the results into the ``cost`` object and the flat keys (``ipu_luts``, ``ipu_ffs``,
``term_generator_luts``, ``bubble_sorter_luts``, ``bitonic_sorter_luts``, ratios) of the output JSON,
keeping every other key of an existing file. Flat LUT/FF keys are 7-series (``synth_xilinx``) counts.

Configuration: B = C = D = 4, int8 activations x int4 weights (the paper's W4A8 base model), 16
lanes. The term generator is measured at ``wbits`` 4 (4 x 2 = 8 term pairs, the configuration the
IPU uses) and at ``wbits`` 8 (4 x 4 = 16 pairs): the Table V ratios divide the sorters of 16 4-bit
product offsets by the ``wbits`` 8 generator, which ranks the same 16 offsets.

``--quick`` builds a 2-lane IPU instead of 16 lanes; it and ``--only`` write to
build/bench/sbq_cost_quick.json unless ``-o`` is given: they check the flow, the docs use a full run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from hdl import generate

from . import synth

DEFAULT_OUTPUT = Path("docs/results/sbq.json")
QUICK_OUTPUT = Path("build/bench/sbq_cost_quick.json")
WORKDIR = Path("build/bench/sbq_cost")
COMMAND = "python -m bench.sbq_cost"

CONFIG = {"budget": 4, "comp": 4, "depth": 4, "wbits": 4, "abits": 8, "lanes": 16}

#: Paper, Table V (28 nm area, um^2) and Table IV.
PAPER = {
    "bubble_sorter_area_um2": 2126.599,
    "bitonic_sorter_area_um2": 1685.612,
    "term_generator_area_um2": 87.220,
    "claimed_saving": "19~25x",
    "lane_area_share": {"multiplier": 0.372, "term_generator": 0.359, "term_queue": 0.269},
    "ipu_area_um2": 4110.292,
    "term_encoder_area_um2": 145.432,
}

# A timeout for nextpnr on the 16-lane IPU; beyond it the lane's Fmax stands in (recorded as such).
IPU_PNR_TIMEOUT_S = 600


@dataclass(frozen=True)
class Part:
    key: str
    cls: str
    params: dict
    build: Callable[[], object]
    what: str
    default: bool = True  # measured without --only


def _parts(lanes: int) -> list[Part]:
    from hdl.sbq.sorters import BitonicSorter, BubbleSorter

    def sbq(name):
        import hdl.sbq
        return getattr(hdl.sbq, name)

    b, c, d, w = CONFIG["budget"], CONFIG["comp"], CONFIG["depth"], CONFIG["wbits"]
    return [
        Part("term_encoder_a8", "TermEncoder", {"bits": 8}, lambda: sbq("TermEncoder")(8),
             "term encoder for an int8 operand (combinational)"),
        Part("term_encoder_w4", "TermEncoder", {"bits": 4}, lambda: sbq("TermEncoder")(4),
             "term encoder for an int4 operand (combinational)"),
        Part("term_multiplier", "TermMultiplier", {}, lambda: sbq("TermMultiplier")(),
             "2-bit signed term multiplier with shifter (combinational)"),
        Part("term_queue", "TermQueue", {"depth": d}, lambda: sbq("TermQueue")(d),
             f"term queue, {d} entries of a term pair"),
        Part("term_generator", "TermGenerator", {"budget": b, "comp": c, "wbits": w},
             lambda: sbq("TermGenerator")(b, c, w), "term generator, int8 x int4: 4 x 2 = 8 pairs"),
        Part("term_generator_w8", "TermGenerator", {"budget": b, "comp": c, "wbits": 8},
             lambda: sbq("TermGenerator")(b, c, 8), "term generator, int8 x int8: 4 x 4 = 16 pairs"),
        Part("compute_lane", "ComputeLane", {"budget": b, "comp": c, "depth": d, "wbits": w},
             lambda: sbq("ComputeLane")(b, c, d, w),
             "compute lane: 2 term encoders, term generator, multiplier, queue, accumulator, ping-pong output"),
        Part("bubble_sorter", "BubbleSorter", {"count": 16, "width": 4},
             lambda: BubbleSorter(16, 4), "bubble sorting network, 16 4-bit keys, 120 compare-exchanges"),
        Part("bitonic_sorter", "BitonicSorter", {"count": 16, "width": 4},
             lambda: BitonicSorter(16, 4), "bitonic sorting network, 16 4-bit keys, 80 compare-exchanges"),
        Part("bubble_sorter_indexed", "BubbleSorter", {"count": 16, "width": 4, "indexed": True},
             lambda: BubbleSorter(16, 4, indexed=True), "bubble sorter that also outputs each key's pair index",
             default=False),
        Part("bitonic_sorter_indexed", "BitonicSorter", {"count": 16, "width": 4, "indexed": True},
             lambda: BitonicSorter(16, 4, indexed=True), "bitonic sorter that also outputs each key's pair index",
             default=False),
        Part("ipu", "InnerProductUnit", {"lanes": lanes, "budget": b, "comp": c, "depth": d, "wbits": w},
             lambda: sbq("InnerProductUnit")(lanes, b, c, d, w), f"inner product unit, {lanes} lanes"),
    ]


def _measure(part: Part, bar: tqdm, ipu_pnr_timeout: float) -> dict:
    entry = {"class": part.cls, "params": part.params, "what": part.what}
    workdir = WORKDIR / part.key
    try:
        component = part.build()
    except (ImportError, AttributeError) as error:
        entry["error"] = f"not available: {error}"
        bar.update(2)
        return entry
    bar.set_postfix_str(f"{part.key}: synth_xilinx")
    entry["xilinx"] = synth.xilinx(component, part.key, workdir=workdir)
    bar.update(1)
    bar.set_postfix_str(f"{part.key}: synth_ecp5 + nextpnr")
    timeout = ipu_pnr_timeout if part.key == "ipu" else None
    try:
        entry["ecp5"] = synth.ecp5(part.build(), part.key, workdir=workdir, nodsp=True, pnr_timeout=timeout)
    except synth.SynthError as error:
        if "ran past" not in str(error):
            raise
        entry["ecp5"] = synth.ecp5(part.build(), part.key, workdir=workdir, nodsp=True, pnr=False)
        entry["ecp5"].update({"fmax_mhz": None, "pnr_timeout_s": timeout, "pnr_note": str(error).splitlines()[0]})
    bar.update(1)
    return entry


def _ratio(num, den):
    return round(num / den, 2) if num is not None and den else None


def _summary(parts: dict) -> tuple[dict, dict]:
    """Flat keys and ratios from the per-part results."""
    def get(key, flow, field):
        return parts.get(key, {}).get(flow, {}).get(field)

    flat = {
        "ipu_luts": get("ipu", "xilinx", "luts"),
        "ipu_ffs": get("ipu", "xilinx", "ffs"),
        "ipu_dsps": get("ipu", "xilinx", "dsps"),
        "ipu_fmax_mhz": get("ipu", "ecp5", "fmax_mhz"),
        "lane_luts": get("compute_lane", "xilinx", "luts"),
        "lane_ffs": get("compute_lane", "xilinx", "ffs"),
        "term_generator_luts": get("term_generator", "xilinx", "luts"),
        "term_generator_w8_luts": get("term_generator_w8", "xilinx", "luts"),
        "bubble_sorter_luts": get("bubble_sorter", "xilinx", "luts"),
        "bitonic_sorter_luts": get("bitonic_sorter", "xilinx", "luts"),
    }
    tg8, tg4 = flat["term_generator_w8_luts"], flat["term_generator_luts"]
    ratios = {
        "basis": "LUTs; sorters of 16 4-bit offsets over the term generator ranking the same 16 pairs (wbits 8)",
        "bubble_over_term_generator_w8": _ratio(flat["bubble_sorter_luts"], tg8),
        "bitonic_over_term_generator_w8": _ratio(flat["bitonic_sorter_luts"], tg8),
        "bubble_over_term_generator_w4": _ratio(flat["bubble_sorter_luts"], tg4),
        "bitonic_over_term_generator_w4": _ratio(flat["bitonic_sorter_luts"], tg4),
        "bubble_indexed_over_term_generator_w8": _ratio(get("bubble_sorter_indexed", "xilinx", "luts"), tg8),
        "bitonic_indexed_over_term_generator_w8": _ratio(get("bitonic_sorter_indexed", "xilinx", "luts"), tg8),
        "ecp5_bubble_over_term_generator_w8": _ratio(get("bubble_sorter", "ecp5", "luts"),
                                                     get("term_generator_w8", "ecp5", "luts")),
        "ecp5_bitonic_over_term_generator_w8": _ratio(get("bitonic_sorter", "ecp5", "luts"),
                                                      get("term_generator_w8", "ecp5", "luts")),
        "paper_bubble_over_term_generator_area": _ratio(PAPER["bubble_sorter_area_um2"], PAPER["term_generator_area_um2"]),
        "paper_bitonic_over_term_generator_area": _ratio(PAPER["bitonic_sorter_area_um2"], PAPER["term_generator_area_um2"]),
    }
    flat["bubble_over_term_generator"] = ratios["bubble_over_term_generator_w8"]
    flat["bitonic_over_term_generator"] = ratios["bitonic_over_term_generator_w8"]
    return flat, ratios


def _write(output: Path, cost: dict, flat: dict) -> None:
    """Merge into ``output``: replace ``cost`` and the flat keys, keep everything else."""
    output.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(output.read_text()) if output.exists() else {}
    existing["cost"] = cost
    existing.update(flat)
    tmp = output.with_suffix(output.suffix + ".tmp")
    tmp.write_text(json.dumps(existing, indent=2) + "\n")
    tmp.replace(output)


def _document(results: dict, args, lanes: int, versions: dict, seconds: float, complete: bool):
    """The ``cost`` object, the flat keys and the ratios for the parts measured so far."""
    if "ipu" in results and "ecp5" in results["ipu"] and results["ipu"]["ecp5"].get("fmax_mhz") is None:
        lane_fmax = results.get("compute_lane", {}).get("ecp5", {}).get("fmax_mhz")
        results["ipu"]["ecp5"].update({"fmax_proxy_mhz": lane_fmax, "fmax_proxy": "compute_lane"})
    flat, ratios = _summary(results)
    cost = {
        "command": COMMAND + (" --quick" if args.quick else ""),
        "quick": args.quick,
        "complete": complete,
        "config": {**CONFIG, "lanes": lanes},
        "flows": {
            "xilinx": f"yosys {synth.PREPARE}; synth_xilinx -family {synth.XILINX_FAMILY} -flatten -noiopad -noclkbuf "
                      f"(7-series; intended device {synth.XILINX_PART}); luts = LUT1..LUT6 + INV",
            "ecp5": f"yosys {synth.PREPARE}; synth_ecp5 -nodsp; nextpnr-ecp5 --{synth.ECP5_DEVICE} --package "
                    f"{synth.ECP5_PACKAGE} --out-of-context --freq {synth.ECP5_TARGET_MHZ} --seed {synth.ECP5_SEED} "
                    "(LFE5U-85F); Fmax of the part with every port registered (bench/synth.py); luts = LUT4 cells, "
                    "carry = CCU2C (2 LUT4 each)",
        },
        "tools": versions,
        "parts": results,
        "ratios": ratios,
        "paper": PAPER,
        "seconds": round(seconds, 1),
    }
    if args.only:
        cost["only"] = args.only
    return cost, flat, ratios


def markdown(cost: dict) -> str:
    """The tables of docs/sbq.md (section Cost) from a ``cost`` object."""
    parts = cost["parts"]

    def cell(value, suffix=""):
        return "-" if value is None else f"{value}{suffix}"

    lines = [
        "| part | 7-series LUT | LUTRAM (LUTs) | FF | DSP | CARRY4 | ECP5 LUT4 | CCU2C | DPR16X4 | FF | Fmax (MHz) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, entry in parts.items():
        if "error" in entry:
            lines.append(f"| `{key}` | {entry['error']} |" + " |" * 9)
            continue
        x, e = entry["xilinx"], entry["ecp5"]
        fmax = cell(e.get("fmax_mhz"))
        if e.get("fmax_mhz") is None and e.get("fmax_proxy_mhz") is not None:
            fmax = f"({e['fmax_proxy_mhz']}, lane)"
        lines.append(
            f"| `{key}` | {x['luts']} | {x['lutram_luts']} | {x['ffs']} | {x['dsps']} | {x['carry']} | "
            f"{e['luts']} | {e['carry']} | {e.get('lutram', '-')} | {e['ffs']} | {fmax} |"
        )
    r = cost["ratios"]
    tg4, tg8 = parts.get("term_generator", {}), parts.get("term_generator_w8", {})
    lines += [
        "",
        "| Table V | 7-series LUT | / generator w8 | / generator w4 | ECP5 LUT4 | / generator w8 | Fmax (MHz) "
        "| paper area (um^2) | paper / generator |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [
        ("bubble sorter", "bubble_sorter", r.get("bubble_over_term_generator_w8"),
         r.get("bubble_over_term_generator_w4"), r.get("ecp5_bubble_over_term_generator_w8"),
         PAPER["bubble_sorter_area_um2"], r.get("paper_bubble_over_term_generator_area")),
        ("bitonic sorting network", "bitonic_sorter", r.get("bitonic_over_term_generator_w8"),
         r.get("bitonic_over_term_generator_w4"), r.get("ecp5_bitonic_over_term_generator_w8"),
         PAPER["bitonic_sorter_area_um2"], r.get("paper_bitonic_over_term_generator_area")),
    ]
    for label, key, w8, w4, e8, area, paper_ratio in rows:
        entry = parts.get(key, {})
        if "xilinx" not in entry:
            continue
        lines.append(
            f"| {label} | {entry['xilinx']['luts']} | {cell(w8, 'x')} | {cell(w4, 'x')} | {entry['ecp5']['luts']} | "
            f"{cell(e8, 'x')} | {cell(entry['ecp5'].get('fmax_mhz'))} | {area} | {cell(paper_ratio, 'x')} |"
        )
    for label, entry in (("term generator, wbits 8 (16 pairs)", tg8), ("term generator, wbits 4 (8 pairs)", tg4)):
        if "xilinx" in entry:
            lines.append(
                f"| {label} | {entry['xilinx']['luts']} | | | {entry['ecp5']['luts']} | | "
                f"{cell(entry['ecp5'].get('fmax_mhz'))} | {PAPER['term_generator_area_um2']} | |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help=f"JSON to update (default {DEFAULT_OUTPUT}; {QUICK_OUTPUT} with --quick or --only)")
    parser.add_argument("--quick", action="store_true", help="2-lane IPU instead of 16 (checks the flow)")
    parser.add_argument("--only", nargs="+", metavar="PART",
                        help="measure only these parts, also the extra *_indexed sorters (abc9 on the indexed "
                             "bubble sorter ran over 8 minutes here, so they are not in the default run)")
    parser.add_argument("--table", action="store_true",
                        help="print the markdown tables of docs/sbq.md from the output JSON, synthesize nothing")
    args = parser.parse_args(argv)
    if args.table:
        source = args.output or DEFAULT_OUTPUT
        print(markdown(json.loads(source.read_text())["cost"]))
        return 0
    output = args.output or (QUICK_OUTPUT if args.quick or args.only else DEFAULT_OUTPUT)
    lanes = 2 if args.quick else CONFIG["lanes"]

    parts = _parts(lanes)
    if args.only:
        unknown = set(args.only) - {p.key for p in parts}
        if unknown:
            parser.error(f"unknown part(s) {', '.join(sorted(unknown))} (parts: {', '.join(p.key for p in parts)})")
        parts = [p for p in parts if p.key in args.only]
    else:
        parts = [p for p in parts if p.default]

    start = time.monotonic()
    versions = {**synth.tool_versions(), **generate.tool_versions()}
    results = {}
    with tqdm(total=2 * len(parts), desc="sbq cost", unit="run") as bar:
        for n, part in enumerate(parts):
            results[part.key] = _measure(part, bar, IPU_PNR_TIMEOUT_S)
            complete = n + 1 == len(parts)
            cost, flat, ratios = _document(results, args, lanes, versions, time.monotonic() - start, complete)
            _write(output, cost, flat)  # after every part, so an interrupted run keeps what it measured
    width = max(len(k) for k in results)
    print(f"{'part':<{width}}  {'LUT':>6} {'FF':>6} {'DSP':>4} {'CARRY4':>6} | {'LUT4':>6} {'FF':>6} {'Fmax':>7}")
    for key, entry in results.items():
        x, e = entry.get("xilinx", {}), entry.get("ecp5", {})
        if "error" in entry:
            print(f"{key:<{width}}  {entry['error']}")
            continue
        fmax = e.get("fmax_mhz")
        print(f"{key:<{width}}  {x['luts']:>6} {x['ffs']:>6} {x['dsps']:>4} {x['carry']:>6} | "
              f"{e['luts']:>6} {e['ffs']:>6} {fmax if fmax is not None else '-':>7}")
    print(f"ratios (LUTs): bubble/term_generator_w8 = {ratios['bubble_over_term_generator_w8']}, "
          f"bitonic/term_generator_w8 = {ratios['bitonic_over_term_generator_w8']} "
          f"(paper area: {ratios['paper_bubble_over_term_generator_area']}, "
          f"{ratios['paper_bitonic_over_term_generator_area']})")
    print(f"wrote {output} in {cost['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
