"""Synthesis cost of the HAP array beside a Stripes-style bit-serial array of equal compute.

    python -m bench.hap.iso_cost [-o FILE] [--only PART ...] [--table]

Equal compute: the same number of *bit products* per cycle (one activation bit times one weight
bit). A HAP PE multiplies one residual bit by a 4-bit weight digit per cycle, so the default
``hap_array`` (``rows`` x ``cols`` PEs) computes ``rows * cols * 4`` bit products per cycle. A
Stripes SIP lane multiplies one activation bit by a ``weight_bits`` weight, so the Stripes array of
equal compute has ``rows * cols * 4 / weight_bits`` lanes: bricks of 16 lanes (the Stripes paper's),
one window, and as many filters as that takes. Stripes has one weight width: 8 bits (``stripes_w8``,
its dataflow has no dual precision, so a network with some 8-bit channels runs all of them at 8
bits); ``stripes_w4`` is the all-4-bit variant. Both take activations of up to 8 bits and an
accumulator as wide as the HAP array's (``max_length`` chosen so). ``hap_pe_array`` is the HAP
array's compute part alone (PEs and their shift registers, without the zero-point unit and the tile
sequencer), the like-for-like counterpart of the Stripes arrays, which have no control either; it
is almost the whole HAP array and takes as long to synthesize, so only ``--only`` measures it.

Every part goes through ``bench.cost.measure`` (yosys ``synth_xilinx`` LUT/FF/DSP, ``synth_ecp5`` +
nextpnr-ecp5 Fmax, CMOS transistors). Writes section ``iso_cost`` of ``docs/results/hap.json``
(rewritten after every part) with the ratios Stripes / HAP and the ISO-512-multiplier scale of the
study (512 8-bit x 8-bit multipliers = 512 * 64 bit products per cycle; not synthesized). ``--only``
measures some parts and merges them into the section already there (the other parts are kept;
each part records the command that measured it), e.g. to remeasure ``hap_array`` after a change.
``--table`` prints the markdown table of the results file and synthesizes nothing. ``--fmax-only``
(with ``--only``) reruns nextpnr alone on the timed design a previous run left in ``build/`` (after
checking that it is the current RTL) with ``--pnr-timeout`` seconds, for a part whose place and
route ran past the time limit on a busy machine, and updates that part's Fmax.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

from tqdm import tqdm

from bench import cost, synth
from bench.plan import CostPart
from hdl.hap.hap_array import HapArray
from hdl.hap.layouts import ACT_BITS, DIGIT_BITS
from qaccel.results import command_line, package_versions, print_section, read_section, section, write_section

__all__ = ["SECTION", "LANES", "ISO_MULTIPLIERS", "hap_defaults", "hap_bit_products", "stripes_params", "parts",
           "ratios", "markdown", "main"]

PROG = "python -m bench.hap.iso_cost"
SECTION = "iso_cost"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "docs" / "results" / "hap.json"
#: Lanes of a Stripes brick (the Stripes paper's 16).
LANES = 16
#: The study's ISO-compute scale: 512 multipliers of 8 x 8 bits, 64 bit products each.
ISO_MULTIPLIERS = 512
ISO_BIT_PRODUCTS = ISO_MULTIPLIERS * 8 * 8

DEFINITION = ("equal bit products per cycle (activation bit x weight bit): hap_array rows * cols PEs of "
              f"1 residual bit x {DIGIT_BITS}-bit digit; Stripes filters * windows * lanes SIP lanes of 1 "
              f"activation bit x weight_bits weight, {LANES}-lane bricks, 1 window")


def hap_defaults() -> dict[str, int]:
    """The default parameters of ``hap_array`` (its constructor's)."""
    return {name: p.default for name, p in inspect.signature(HapArray).parameters.items()}


def hap_bit_products(params: dict) -> int:
    """Bit products per cycle of a HAP array: every PE one residual bit x one 4-bit digit."""
    return params["rows"] * params["cols"] * DIGIT_BITS


def stripes_params(hap: dict, weight_bits: int) -> dict:
    """The Stripes array of the same bit products per cycle as the HAP array ``hap``, with an
    accumulator as wide as the HAP array's (the longest inner product that fits ``acc_bits``)."""
    bit_products = hap_bit_products(hap)
    if bit_products % (LANES * weight_bits):
        raise ValueError(f"{bit_products} bit products per cycle is no whole number of {LANES}-lane "
                         f"bricks of {weight_bits}-bit weights")
    largest = (1 << (weight_bits - 1)) * ((1 << ACT_BITS) - 1)  # |weight| * activation at most
    return {"filters": bit_products // (LANES * weight_bits), "windows": 1, "lanes": LANES,
            "weight_bits": weight_bits, "max_precision": ACT_BITS,
            "max_length": (1 << (hap["acc_bits"] - 1)) // largest}


def parts() -> tuple[CostPart, ...]:
    """The measured parts: the HAP array, its PE array, and the two Stripes arrays of equal compute."""
    hap = hap_defaults()
    return (
        CostPart("hap_array", f"HAP array, {hap['rows']} x {hap['cols']} bit-serial PEs (1 bit x 4-bit digit), "
                 "zero-point unit, tile sequencer (registered design, defaults)",
                 component="hdl.hap.hap_array:HapArray", params=hap),
        CostPart("hap_pe_array", "the HAP array's PEs and shift registers only (no zero-point unit, no sequencer)",
                 component="hdl.hap.pe_array:PEArray", params=hap, default=False),
        CostPart("stripes_w8", "Stripes-style array of equal compute, 8-bit weights",
                 component="hdl.hap.stripes:StripesArray", params=stripes_params(hap, 8)),
        CostPart("stripes_w4", "Stripes-style array of equal compute, 4-bit weights",
                 component="hdl.hap.stripes:StripesArray", params=stripes_params(hap, 4)),
    )


#: ``name: (numerator part, denominator part)``: Stripes over HAP, whole array and compute part alone.
RATIOS = {
    "stripes_w8_over_hap_array": ("stripes_w8", "hap_array"),
    "stripes_w4_over_hap_array": ("stripes_w4", "hap_array"),
    "stripes_w8_over_hap_pe_array": ("stripes_w8", "hap_pe_array"),
    "stripes_w4_over_hap_pe_array": ("stripes_w4", "hap_pe_array"),
}


def _ratio(num, den):
    return None if num is None or not den else round(num / den, 2)


def ratios(measured: dict) -> dict:
    """Stripes over HAP of each measured pair: 7-series LUTs and FFs, ECP5 LUT4s (with carries), Fmax."""
    out = {}
    for name, (num, den) in RATIOS.items():
        if num in measured and den in measured:
            a, b = measured[num], measured[den]
            out[name] = {
                "luts": _ratio(a["xilinx"]["luts"], b["xilinx"]["luts"]),
                "ffs": _ratio(a["xilinx"]["ffs"], b["xilinx"]["ffs"]),
                "ecp5_lut4": _ratio(a["ecp5"]["lut4_total"], b["ecp5"]["lut4_total"]),
                "fmax": _ratio(a["ecp5"].get("fmax_mhz"), b["ecp5"].get("fmax_mhz")),
            }
    return out


def per_cost(measured: dict, output: Path) -> dict | None:
    """HAP's speed-up over Stripes at equal compute (section ``performance`` of ``output``, written by
    ``python -m golden.perf.compare``) against the LUTs each array needs for that compute:
    ``speedup * stripes_w8 LUTs / hap_array LUTs`` is HAP's throughput per 7-series LUT over
    Stripes'. None while either figure is missing."""
    try:
        speedup = read_section(output, "performance")["flat"]["speedup"]["stripes"]
    except (OSError, KeyError, ValueError, TypeError):
        return None
    if "hap_array" not in measured or "stripes_w8" not in measured:
        return None
    hap, stripes = measured["hap_array"]["xilinx"]["luts"], measured["stripes_w8"]["xilinx"]["luts"]
    return {"speedup_over_stripes": speedup, "source": "section performance (python -m golden.perf.compare)",
            "hap_luts_over_stripes_w8": round(hap / stripes, 2),
            "throughput_per_lut_over_stripes_w8": round(speedup * stripes / hap, 2)}


def _flat(measured: dict, ratio_table: dict) -> dict:
    flat = {}
    for key, entry in measured.items():
        flat.update({f"iso_{key}_luts": entry["xilinx"]["luts"], f"iso_{key}_ffs": entry["xilinx"]["ffs"],
                     f"iso_{key}_dsps": entry["xilinx"]["dsps"], f"iso_{key}_fmax_mhz": entry["ecp5"].get("fmax_mhz")})
    for name, values in ratio_table.items():
        flat[f"iso_{name}_luts"] = values["luts"]
    return flat


def _config(chosen: tuple[CostPart, ...], complete: bool) -> dict:
    hap = hap_defaults()
    bit_products = hap_bit_products(hap)
    return {
        "equal_compute": DEFINITION,
        "bit_products_per_cycle": bit_products,
        "hap_array": hap,
        "stripes": {part.key: dict(part.params) for part in chosen if part.key.startswith("stripes")},
        "iso_512": {
            "multipliers": ISO_MULTIPLIERS,
            "bit_products_per_cycle": ISO_BIT_PRODUCTS,
            "copies_of_these_arrays": ISO_BIT_PRODUCTS / bit_products,
            "note": "the study's ISO-compute scale (512 8-bit x 8-bit multipliers) is this many copies of each "
                    "array; not synthesized (the ratios hold if cost grows linearly with copies)",
        },
        "stripes_weights": "Stripes has one weight width per layer and no dual precision: stripes_w8 runs every "
                           "channel at 8 bits; stripes_w4 is the all-4-bit variant",
        "flows": cost.FLOWS,
        "parts": [part.key for part in chosen],
        "complete": complete,
        "complete_means": "every part of the default run is measured (hap_pe_array only with --only)",
    }


def _kept(output: Path, every: tuple[CostPart, ...], chosen: tuple[CostPart, ...]) -> dict:
    """The parts of the section already in ``output`` that this run does not measure (none when
    there is no section yet)."""
    try:
        recorded = read_section(output, SECTION)
    except (OSError, KeyError, ValueError):
        return {}
    old, skip = recorded["data"]["parts"], {part.key for part in chosen}
    return {part.key: {"command": recorded["command"], **old[part.key]}
            for part in every if part.key in old and part.key not in skip}


def measure(every: tuple[CostPart, ...], chosen: tuple[CostPart, ...], output: Path, command: str, *,
            merge: bool) -> dict:
    """Every part of ``chosen`` through ``bench.cost.measure``, with ``merge`` also the kept parts of
    the section in ``output`` (:func:`_kept`); section ``iso_cost`` rewritten after each part."""
    tools = {**synth.tool_versions(), **package_versions("amaranth")}
    built = [(part, *part.build()) for part in chosen]  # every constructor checked before any synthesis
    start, measured, value = time.monotonic(), (_kept(output, every, chosen) if merge else {}), None
    with tqdm(total=len(cost.FLOWS) * len(built), desc="hap iso cost", unit="run") as bar:
        for part, component, params in built:
            workdir = cost.BUILD / "hap_iso_cost" / part.key
            entry = cost.measure(part, component, params, workdir, bar)
            measured[part.key] = {**entry, "command": command}
            ordered = {p.key: measured[p.key] for p in every if p.key in measured}
            ratio_table = ratios(ordered)
            data = {"parts": ordered, "ratios": ratio_table, "per_cost": per_cost(ordered, output),
                    "seconds": round(time.monotonic() - start, 1)}
            present = tuple(p for p in every if p.key in ordered)
            complete = all(p.key in ordered for p in every if p.default)
            value = section(command=command, tools=tools, config=_config(present, complete),
                            data=data, flat=_flat(ordered, ratio_table))
            write_section(output, SECTION, value)
    return value


def _cell(value, suffix=""):
    return "-" if value is None else f"{value}{suffix}"


def _fmax_cell(ecp5: dict) -> str:
    if ecp5.get("fmax_mhz") is None and ecp5.get("pnr_timeout_s"):
        return f"- (nextpnr past {ecp5['pnr_timeout_s']} s)"
    return _cell(ecp5.get("fmax_mhz"))


def markdown(value: dict) -> str:
    """The markdown tables of an ``iso_cost`` section: every part, then the ratios Stripes / HAP."""
    data, config = value["data"], value["config"]
    lines = [
        "| part | parameters | 7-series LUT | FF | DSP | CARRY4 | ECP5 LUT4 + 2 CCU2C | FF | Fmax (MHz) | CMOS transistors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, entry in data["parts"].items():
        x, e = entry["xilinx"], entry["ecp5"]
        params = ", ".join(f"{name} {v}" for name, v in entry["params"].items())
        lines.append(f"| `{key}` | {params} | {x['luts']} | {x['ffs']} | {x['dsps']} | {x['carry']} | "
                     f"{e['lut4_total']} | {e['ffs']} | {_fmax_cell(e)} | "
                     f"{_cell(entry.get('cmos', {}).get('transistors'))} |")
    if data["ratios"]:
        lines += ["", "| ratio | 7-series LUT | FF | ECP5 LUT4 | Fmax |", "| --- | ---: | ---: | ---: | ---: |"]
        for name, r in data["ratios"].items():
            lines.append(f"| `{name}` | {_cell(r['luts'], 'x')} | {_cell(r['ffs'], 'x')} | "
                         f"{_cell(r['ecp5_lut4'], 'x')} | {_cell(r['fmax'], 'x')} |")
    if data.get("per_cost"):
        c = data["per_cost"]
        lines += ["", f"HAP over Stripes at equal compute: {c['speedup_over_stripes']}x faster "
                  f"({c['source']}) with {c['hap_luts_over_stripes_w8']}x the 7-series LUTs of `stripes_w8`: "
                  f"{c['throughput_per_lut_over_stripes_w8']}x Stripes' throughput per LUT."]
    iso = config["iso_512"]
    lines += ["", f"Equal compute: {config['bit_products_per_cycle']} bit products per cycle. The study's "
              f"ISO-{iso['multipliers']} scale ({iso['bit_products_per_cycle']} bit products per cycle) is "
              f"{iso['copies_of_these_arrays']:g} copies of each array."]
    return "\n".join(lines)


def fmax_again(chosen: tuple[CostPart, ...], output: Path, command: str, timeout: float) -> dict:
    """nextpnr again on each ``chosen`` part's wrapped ECP5 netlist from the last run (refused unless
    it is the netlist of the current RTL); the part's ECP5 Fmax figures in the section updated."""
    recorded = read_section(output, SECTION)
    measured = recorded["data"]["parts"]
    for part in chosen:
        if part.key not in measured:
            raise ValueError(f"{output} has no {part.key} in section {SECTION}: measure it first")
        component, _ = part.build()
        wrapped = cost.BUILD / "hap_iso_cost" / part.key / "ecp5" / "wrapped"
        if (wrapped / "design.v").read_text() != synth.to_verilog(synth.registered(component), part.key):
            raise ValueError(f"{wrapped / 'design.v'} is not the current {part.key}: measure it again")
        report, seconds = synth._nextpnr(wrapped / "design.json", wrapped, timeout)
        clocks = {name: round(float(v["achieved"]), 2) for name, v in report.get("fmax", {}).items()}
        ecp5 = {k: v for k, v in measured[part.key]["ecp5"].items() if k not in ("pnr_note", "pnr_timeout_s")}
        ecp5.update({"fmax_mhz": min(clocks.values()) if clocks else None, "fmax_clocks": clocks,
                     "fmax_wrapped": True, "critical_path": synth._critical_path(report),
                     "pnr_seconds": round(seconds, 2), "pnr_command": command,
                     "comb_used": report.get("utilization", {}).get("TRELLIS_COMB", {}).get("used")})
        measured[part.key] = {**measured[part.key], "ecp5": ecp5}
    ratio_table = ratios(measured)
    data = {**recorded["data"], "parts": measured, "ratios": ratio_table, "per_cost": per_cost(measured, output)}
    value = section(command=recorded["command"], tools=recorded["tools"], config=recorded["config"], data=data,
                    flat=_flat(measured, ratio_table))
    write_section(output, SECTION, value)
    return value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    every = parts()
    keys = [part.key for part in every]
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, help="results file to update")
    parser.add_argument("--only", nargs="+", metavar="PART", choices=keys, default=[],
                        help=f"measure only these parts ({', '.join(keys)})")
    parser.add_argument("--table", action="store_true", help="print the markdown tables of the results file")
    parser.add_argument("--fmax-only", action="store_true",
                        help="with --only: nextpnr again on the parts' netlists of the last run, Fmax updated")
    parser.add_argument("--pnr-timeout", type=float, default=cost.PNR_TIMEOUT_S, metavar="S",
                        help=f"nextpnr's time limit per part in seconds (default {cost.PNR_TIMEOUT_S})")
    args = parser.parse_args(argv)
    output = args.output or DEFAULT_OUTPUT
    if args.table:
        return print_section(output, SECTION, markdown, data_only=False)
    chosen = tuple(part for part in every if (part.key in args.only if args.only else part.default))
    if args.fmax_only:
        if not args.only:
            parser.error("--fmax-only needs --only PART")
        value = fmax_again(chosen, output, command_line(PROG, argv), args.pnr_timeout)
        print(markdown(value))
        return 0
    cost.PNR_TIMEOUT_S = args.pnr_timeout  # read by bench.cost.measure
    value = measure(every, chosen, output, command_line(PROG, argv), merge=bool(args.only))
    print(markdown(value))
    print(f"wrote {output} in {value['data']['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
