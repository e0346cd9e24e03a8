"""SBQ hardware comparisons like for like: the paper's Table V two ways, and a plain MAC array.

    python -m bench.sbq.compare                     # sections table_v and mac_baseline of docs/results/sbq.json
    python -m bench.sbq.compare --only table_v      # one section (table_v or mac_baseline)
    python -m bench.sbq.compare --quick             # B = 4 only, 2 lanes: build/bench/sbq_compare_quick.json
    python -m bench.sbq.compare --table             # print the docs tables from the results file
    python -m bench.sbq.compare --plot docs/results/sbq_mac_baseline.png
    python -m bench.sbq.compare -j 16               # 16 parts at once (the results are the same)
    python -m bench.sbq.compare --only table_v --part setup_b_b4_single_abc/sort_ranker_bubble   # one part, keep the others

Section ``table_v``:

* ``setup_a`` is the paper's own Table V setup: one-cycle bubble and bitonic sorters over 16 bare
  4-bit offsets (:class:`~hdl.sbq.sorters.BubbleSorter`, :class:`~hdl.sbq.sorters.BitonicSorter`)
  against the int8 x int8 generators at ``B = C = 4``: our three-selector ``TermGenerator`` and the
  paper-style ``PairGenerator``.
* ``setup_b`` is the fair one: every candidate delivers ranks ``0..B+C-1`` of one int8 x int8
  multiplication per ``B`` cycles (rank ``t`` and rank ``B + t`` in cycle ``t``), registers counted
  the same way: ``TermGenerator``, ``PairGenerator`` and :class:`~hdl.sbq.sorters.SortRanker` with
  either network at ``B = C = 4``, the two generators also at ``B = C`` = 2, 3 and for W4A8. Each
  candidate is checked against the golden ranking by the test named in ``tested_by``. The bubble
  ``SortRanker`` does not get through the default CMOS flow (:data:`LEFT_OUT`), so group
  ``setup_b_b4_single_abc`` measures all four ``B = C = 4`` candidates, bubble included, with the CMOS
  flow alone in its single-abc form (``synth -noabc``, then ``abc -g cmos2``; no 7-series figures):
  one flow for the four, so their ratios hold.

Section ``mac_baseline``: the 16-lane SBQ inner product unit, W4A8 at ``B = C`` = 2, 3, 4 and W8A8 at
``B = C = 4`` (``D = 4``), and a plain 16-lane MAC array (:class:`~hdl.sbq.mac_array.MacArray`), W4A8
and W8A8. The IPU does
``lanes / B`` multiplications per cycle, the MAC array ``lanes``; the comparison is area per
multiplication per cycle (``area * B / lanes`` and ``area / lanes``) at the same clock, and the
ECP5 Fmax of each is recorded beside it.

Flows (:mod:`bench.synth`): CMOS transistors (``abc -g cmos2``, ``stat -tech cmos``), 7-series LUT/FF
(``synth_xilinx``; for the MAC arrays also ``-nodsp``). The ECP5 Fmax of the generators, sorters
and MAC arrays is in section ``cost`` (``python -m bench.cost sbq``). Every figure comes from these
runs; the paper's figures are in ``paper``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

from hdl.sbq.inner_product_unit import InnerProductUnit
from hdl.sbq.mac_array import MacArray
from hdl.sbq.pair_generator import PairGenerator
from hdl.sbq.sorters import BitonicSorter, BubbleSorter, SortRanker
from hdl.sbq.term_generator import TermGenerator
from qaccel.results import command_line, package_versions, read_section, section, write_section

from .. import synth

__all__ = ["table_v_parts", "mac_parts", "jobs", "measure", "run", "per_multiplication", "markdown", "without_jobs",
           "main"]

PROG = "python -m bench.sbq.compare"
REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "bench" / "sbq_compare"
SECTIONS = ("table_v", "mac_baseline")
BUDGETS = (2, 3, 4)
LANES = 16

#: The paper's Table V (28 nm): area in um^2 and power in mW.
PAPER_TABLE_V = {
    "bubble_sorter": {"area_um2": 2126.599, "power_mw": 0.263},
    "bitonic_sorter": {"area_um2": 1685.612, "power_mw": 0.568},
    "generator": {"area_um2": 87.220, "power_mw": 0.021},
}

#: Parts left out of the groups measured with both flows unless ``--part`` names them, and why.
LEFT_OUT = {"sort_ranker_bubble": "yosys had not finished its generic synthesis (the abc step inside synth, before "
                                  "abc -g cmos2) after 18 minutes here, nor the whole part after 9 minutes on a "
                                  "16-core machine; its CMOS count is in group setup_b_b4_single_abc"}
#: The group measured with the single-abc CMOS flow only (:data:`bench.synth.CMOS_SCRIPT_SINGLE_ABC`).
SINGLE_ABC_GROUP = "setup_b_b4_single_abc"

TESTED_BY = {
    "term_generator": "sim/sbq/test_term_generator.py",
    "pair_generator": "sim/sbq/test_pair_generator.py",
    "sort_ranker_bubble": "tests/test_sorters.py::test_sort_ranker_gives_the_golden_ranks",
    "sort_ranker_bitonic": "tests/test_sorters.py::test_sort_ranker_gives_the_golden_ranks",
}


def _candidates(budget: int, wbits: int, sorters: bool) -> dict:
    """The rankers of setup (b) at ``B = C = budget``, ``{key: factory}``; the sorting ones with ``sorters``."""
    found = {
        "term_generator": lambda: TermGenerator(budget=budget, comp=budget, wbits=wbits),
        "pair_generator": lambda: PairGenerator(budget=budget, comp=budget, wbits=wbits),
    }
    if sorters:
        found["sort_ranker_bubble"] = lambda: SortRanker(network="bubble", budget=budget, comp=budget, wbits=wbits)
        found["sort_ranker_bitonic"] = lambda: SortRanker(network="bitonic", budget=budget, comp=budget, wbits=wbits)
    return found


def table_v_parts(quick: bool = False) -> dict:
    """``{group: {key: factory}}`` of section ``table_v``."""
    parts = {"setup_a": {
        "bubble_sorter": lambda: BubbleSorter(count=16, width=4),
        "bitonic_sorter": lambda: BitonicSorter(count=16, width=4),
        "term_generator": lambda: TermGenerator(budget=4, comp=4, wbits=8),
        "pair_generator": lambda: PairGenerator(budget=4, comp=4, wbits=8),
    }}
    # The sorting rankers at B = 4 only: their network does not depend on B.
    for budget in ((4,) if quick else BUDGETS[::-1]):
        parts[f"setup_b_b{budget}"] = _candidates(budget, 8, budget == 4)
    parts["setup_b_w4a8_b4"] = _candidates(4, 4, False)
    if not quick:
        parts[SINGLE_ABC_GROUP] = _candidates(4, 8, True)
    return parts


def mac_parts(quick: bool = False) -> dict:
    """``{key: (factory, multiplications per cycle, is a MAC array)}`` of section ``mac_baseline``."""
    lanes = 2 if quick else LANES
    parts = {}
    for wbits, name in ((4, "w4a8"), (8, "w8a8")):
        parts[f"mac_{name}"] = (lambda wbits=wbits: MacArray(lanes=lanes, wbits=wbits), lanes, True)
        for budget in ((4,) if quick or wbits == 8 else BUDGETS):  # W8A8: the paper's B = 4 only
            parts[f"ipu_{name}_b{budget}"] = (
                lambda wbits=wbits, budget=budget: InnerProductUnit(lanes=lanes, budget=budget, comp=budget, depth=4,
                                                                    wbits=wbits),
                lanes / budget, False)
    return parts


def measure(component, key: str, workdir: Path, *, fmax: bool = False, nodsp_xilinx: bool = False) -> dict:
    """CMOS and 7-series counts of ``component`` (and ECP5 Fmax with ``fmax``); one results entry."""
    entry = {"cmos": synth.cmos(component, key, workdir=workdir)}
    entry["cmos"].pop("cells")
    xilinx = synth.xilinx(component, key, workdir=workdir)
    entry["xilinx"] = {k: xilinx[k] for k in ("luts", "lutram_luts", "ffs", "dsps", "carry", "seconds")}
    if nodsp_xilinx:
        bare = synth.xilinx(component, key, workdir=workdir / "nodsp", nodsp=True)
        entry["xilinx_nodsp"] = {k: bare[k] for k in ("luts", "lutram_luts", "ffs", "dsps", "carry", "seconds")}
    if fmax:
        ecp5 = synth.ecp5(component, key, workdir=workdir, nodsp=True)
        entry["ecp5"] = {k: ecp5.get(k) for k in ("luts", "carry", "ffs", "fmax_mhz", "critical_path")}
    return entry


def _ratio(num, den):
    return round(num / den, 2) if num is not None and den else None


def per_multiplication(parts: dict) -> dict:
    """Transistors and 7-series LUTs per multiplication per cycle of every part (``mults_per_cycle``
    recorded in its entry), and each IPU's ratio to the MAC array of its width."""
    out = {}
    for key, entry in parts.items():
        rate = entry["mults_per_cycle"]
        luts = entry.get("xilinx_nodsp", entry["xilinx"])["luts"]
        out[key] = {"transistors": round(entry["cmos"]["transistors"] / rate, 1),
                    "luts": round(luts / rate, 1)}
    for key in parts:
        if key.startswith("ipu_"):
            mac = f"mac_{key.split('_')[1]}"
            if mac in out:
                out[key]["transistors_over_mac"] = _ratio(out[key]["transistors"], out[mac]["transistors"])
                out[key]["luts_over_mac"] = _ratio(out[key]["luts"], out[mac]["luts"])
    return out


def _table_v_ratios(groups: dict) -> dict:
    """Sorter over generator in transistors and LUTs, setup (a), and every candidate over the
    pair generator in setup (b)."""
    ratios = {}
    a = groups.get("setup_a", {})
    for sorter in ("bubble_sorter", "bitonic_sorter"):
        for gen in ("term_generator", "pair_generator"):
            if sorter in a and gen in a:
                ratios[f"a_{sorter}_over_{gen}_transistors"] = _ratio(a[sorter]["cmos"]["transistors"],
                                                                      a[gen]["cmos"]["transistors"])
                ratios[f"a_{sorter}_over_{gen}_luts"] = _ratio(a[sorter]["xilinx"]["luts"], a[gen]["xilinx"]["luts"])
    for group, entries in groups.items():
        if group.startswith("setup_b") and "pair_generator" in entries:
            base = entries["pair_generator"]
            for key, entry in entries.items():
                if key != "pair_generator":
                    ratios[f"{group}_{key}_over_pair_generator_transistors"] = _ratio(
                        entry["cmos"]["transistors"], base["cmos"]["transistors"])
    return ratios


def _paper_ratios() -> dict:
    gen = PAPER_TABLE_V["generator"]
    return {f"{name}_over_generator_{what}": round(PAPER_TABLE_V[name][f"{what}_{unit}"] / gen[f"{what}_{unit}"], 2)
            for name in ("bubble_sorter", "bitonic_sorter") for what, unit in (("area", "um2"), ("power", "mw"))}


def _table_v_section(groups: dict, quick: bool, command: str, tools: dict, seconds: float) -> dict:
    ratios = _table_v_ratios(groups)
    data = {"groups": groups, "ratios": ratios, "paper": {"table_v": PAPER_TABLE_V, **_paper_ratios()},
            "seconds": seconds}
    flat = {f"table_v_{name}": figure for name, figure in ratios.items() if name.startswith("a_")}
    return section(command=command, tools=tools, config=_config(quick, "table_v"), data=data, flat=flat)


def _mac_section(parts: dict, quick: bool, command: str, tools: dict, seconds: float) -> dict:
    per = per_multiplication(parts)
    data = {"parts": parts, "per_multiplication": per, "seconds": seconds}
    flat = {f"{key}_transistors_per_mult": figures["transistors"] for key, figures in per.items()}
    return section(command=command, tools=tools, config=_config(quick, "mac_baseline"), data=data, flat=flat)


def _named(group: str, key: str, parts) -> bool:
    """Whether ``--part`` names this part: by its key (in every group) or as ``group/key``."""
    return key in parts or f"{group}/{key}" in parts


def jobs(names, quick: bool, parts=()) -> list:
    """``(section, group, key, factory, mults per cycle, MAC array)`` of every part to measure, in
    order; the :data:`LEFT_OUT` ones outside :data:`SINGLE_ABC_GROUP` only when ``parts`` names them."""
    found = []
    if "table_v" in names:
        for group, chosen in table_v_parts(quick).items():
            found += [("table_v", group, key, factory, None, False) for key, factory in chosen.items()
                      if key not in LEFT_OUT or group == SINGLE_ABC_GROUP or _named(group, key, parts)]
    if "mac_baseline" in names:
        found += [("mac_baseline", "parts", key, factory, rate, is_mac)
                  for key, (factory, rate, is_mac) in mac_parts(quick).items()]
    return found


_PENDING: list = []  # the jobs of a run, read by the worker processes (forked, so lambdas need no pickling)


def _measure_job(index: int) -> tuple[int, dict]:
    section_name, group, key, factory, rate, is_mac = _PENDING[index]
    workdir = BUILD / section_name / group / key
    if group == SINGLE_ABC_GROUP:
        entry = {"cmos": synth.cmos(factory(), key, workdir=workdir, single_abc=True)}
        entry["cmos"].pop("cells")
    else:
        entry = measure(factory(), key, workdir, nodsp_xilinx=is_mac)
    if section_name == "table_v" and group.startswith("setup_b"):
        entry["tested_by"] = TESTED_BY[key]
    if rate is not None:
        entry["mults_per_cycle"] = rate
    return index, entry


def _recorded(output: Path, job: tuple):
    """The entry of ``job`` in the section recorded in ``output``, or None."""
    try:
        data = read_section(output, job[0])["data"]
    except (OSError, KeyError, ValueError):
        return None
    return (data["groups"] if job[0] == "table_v" else {"parts": data["parts"]}).get(job[1], {}).get(job[2])


def run(names, quick: bool, output: Path, command: str, tools: dict, processes: int = 1, parts=()) -> dict:
    """Measure the parts of sections ``names`` (``processes`` at a time; only the keys ``parts`` if
    given, keeping the other recorded entries), writing each section after every part it gains."""
    _PENDING[:] = jobs(names, quick, parts)
    measured, start, written = {}, time.monotonic(), {}
    if parts:
        for index, job in enumerate(_PENDING):
            if not _named(job[1], job[2], parts) and _recorded(output, job) is not None:
                measured[index] = _recorded(output, job)
    todo = [index for index in range(len(_PENDING)) if index not in measured]
    with tqdm(total=len(todo), desc="sbq compare", unit="part") as bar:
        if processes > 1:
            pool = multiprocessing.get_context("fork").Pool(processes)
            results = pool.imap_unordered(_measure_job, todo)
        else:
            pool, results = None, map(_measure_job, todo)
        for index, entry in results:
            measured[index] = entry
            bar.update(1)
            bar.set_postfix_str(_PENDING[index][2])
            name = _PENDING[index][0]
            seconds = round(time.monotonic() - start, 1)
            chosen = [(job, measured[i]) for i, job in enumerate(_PENDING) if i in measured and job[0] == name]
            if name == "table_v":
                groups = {}
                for job, got in chosen:
                    groups.setdefault(job[1], {})[job[2]] = got
                written[name] = _table_v_section(groups, quick, command, tools, seconds)
            else:
                written[name] = _mac_section({job[2]: got for job, got in chosen}, quick, command, tools, seconds)
            write_section(output, name, written[name])
        if pool is not None:
            pool.close()
            pool.join()
    return written


def _source_state() -> dict:
    """The commit measured and the files of ``hdl/sbq`` that differed from it (others edit them too)."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
    return {"commit": git("rev-parse", "HEAD"), "hdl_sbq_changed": git("status", "--porcelain", "hdl/sbq").splitlines()}


def _config(quick: bool, name: str) -> dict:
    common = {"quick": quick, "source": _source_state(), "flows": {
        "cmos": f"yosys {synth.PREPARE}; {synth.CMOS_SCRIPT.format(top='TOP')}; stat -tech cmos "
                "(NOT 2, NAND 4, NOR 4, D flip-flop 16 transistors)",
        "cmos_single_abc": f"group {SINGLE_ABC_GROUP} only: yosys {synth.PREPARE}; "
                           f"{synth.CMOS_SCRIPT_SINGLE_ABC.format(top='TOP')}; stat -tech cmos",
        "xilinx": f"yosys {synth.PREPARE}; synth_xilinx -family {synth.XILINX_FAMILY} -flatten -noiopad -noclkbuf",
        "ecp5": f"synth_ecp5 -nodsp; nextpnr-ecp5 --{synth.ECP5_DEVICE} --out-of-context --seed {synth.ECP5_SEED}, "
                "every port registered",
    }}
    if name == "table_v":
        return {**common, "left_out": LEFT_OUT, "budgets": [4] if quick else list(BUDGETS), "comp": "C = B", "abits": 8,
                "setup_a": "one-cycle sorters of 16 bare 4-bit offsets vs the int8 x int8 generators at B = C = 4",
                "setup_b": "ranks 0..B+C-1 of one int8 x int8 multiplication per B cycles, rank t and B+t in cycle t"}
    return {**common, "lanes": 2 if quick else LANES, "budgets": [4] if quick else list(BUDGETS), "comp": "C = B",
            "depth": 4, "rate": "IPU: lanes / B multiplications per cycle; MAC array: lanes",
            "per_multiplication": "area / multiplications per cycle; LUTs without DSPs (synth_xilinx -nodsp for the "
                                  "MAC arrays, the IPU uses none)"}


def _cell(value, suffix=""):
    return "-" if value is None else f"{value}{suffix}"


def markdown(table_v: dict | None, mac: dict | None) -> str:
    """The docs tables of the two sections."""
    lines = []
    if table_v:
        data = table_v["data"]
        lines += ["| group | candidate | transistors | of which FF | 7-series LUT | FF | Fmax (MHz) |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for group, entries in data["groups"].items():
            for key, entry in entries.items():
                fmax = entry.get("ecp5", {}).get("fmax_mhz")
                xilinx = entry.get("xilinx", {})
                lines.append(f"| {group} | `{key}` | {entry['cmos']['transistors']} | {entry['cmos']['ff_transistors']} "
                             f"| {_cell(xilinx.get('luts'))} | {_cell(xilinx.get('ffs'))} | {_cell(fmax)} |")
        lines += ["", "| ratio | ours | paper (area / power) |", "| --- | ---: | ---: |"]
        paper = data["paper"]
        for name, figure in data["ratios"].items():
            sorter = next((s for s in ("bubble_sorter", "bitonic_sorter") if f"_{s}_" in f"_{name}"), None)
            ref = (f"{paper[f'{sorter}_over_generator_area']}x / {paper[f'{sorter}_over_generator_power']}x"
                   if sorter and name.startswith("a_") else "")
            lines.append(f"| `{name}` | {_cell(figure, 'x')} | {ref} |")
    if mac:
        data = mac["data"]
        if lines:
            lines.append("")
        lines += ["| part | mults / cycle | transistors | per mult | / MAC | 7-series LUT (no DSP) | DSP48 | LUT with DSPs "
                  "| FF | per mult (LUT) | / MAC | Fmax (MHz) |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for key, entry in data["parts"].items():
            per = data["per_multiplication"][key]
            bare = entry.get("xilinx_nodsp", entry["xilinx"])
            with_dsp = entry["xilinx"]
            lines.append(
                f"| `{key}` | {round(entry['mults_per_cycle'], 2)} | {entry['cmos']['transistors']} | {per['transistors']} | "
                f"{_cell(per.get('transistors_over_mac'), 'x')} | {bare['luts']} | {with_dsp['dsps']} | {with_dsp['luts']} | "
                f"{bare['ffs']} | {per['luts']} | {_cell(per.get('luts_over_mac'), 'x')} | "
                f"{_cell(entry.get('ecp5', {}).get('fmax_mhz'))} |")
    return "\n".join(lines)


def plot(mac: dict, path: Path) -> Path:
    """A bar chart of transistors per multiplication per cycle of section ``mac_baseline`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = mac["data"]["per_multiplication"]
    keys = list(per)
    figure, axis = plt.subplots(figsize=(7, 3.2))
    colors = ["tab:gray" if key.startswith("mac_") else "tab:blue" for key in keys]
    bars = axis.bar(range(len(keys)), [per[key]["transistors"] for key in keys], color=colors)
    for bar, key in zip(bars, keys):
        ratio = per[key].get("transistors_over_mac")
        if ratio is not None:
            axis.annotate(f"{ratio}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    axis.set_xticks(range(len(keys)), [key.replace("_", " ") for key in keys], rotation=20, ha="right")
    axis.set_ylabel("transistors per\nmultiplication per cycle")
    axis.set_title("16-lane SBQ IPU (B = C) vs plain 16-lane MAC array, CMOS transistors", fontsize=10)
    axis.set_ylim(0, 1.15 * max(per[key]["transistors"] for key in keys))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def without_jobs(argv: list[str]) -> list[str]:
    """``argv`` without its ``-j``/``--jobs`` option and value (they change nothing measured)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("-j", "--jobs"):
            skip = True
        elif not arg.startswith(("-j", "--jobs=")):
            kept.append(arg)
    return kept


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--only", choices=SECTIONS, help="measure one section")
    parser.add_argument("--quick", action="store_true", help="B = 4 only and 2 lanes (a flow check)")
    parser.add_argument("-o", "--output", type=Path, help="results file to update")
    parser.add_argument("--table", action="store_true", help="print the docs tables of the results file")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="parts measured at once (default 1)")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="draw section mac_baseline of the results file")
    parser.add_argument("--part", nargs="+", default=[], metavar="KEY",
                        help="measure only these parts (a key, in every group, or GROUP/KEY), keep the others "
                             "recorded in the results file")
    parser.add_argument("--merge", type=Path, metavar="FILE",
                        help="copy the sections from FILE (a run on another machine of this same tree) into the "
                             "results file, with this tree's git state")
    args = parser.parse_args(argv)
    default = BUILD.parent / "sbq_compare_quick.json" if args.quick else REPO / "docs" / "results" / "sbq.json"
    output = args.output or default
    names = [args.only] if args.only else list(SECTIONS)
    if args.merge:
        for name in names:
            value = read_section(args.merge, name)
            value["command"] = command_line(PROG, ["--only", name])  # what writes it here; -o named the other file
            value["config"]["source"] = _source_state()
            value["config"]["measured_on"] = "another machine (python -m bench.sbq.compare --merge)"
            if name == "table_v":
                value["config"]["left_out"] = LEFT_OUT
            write_section(output, name, value)
        print(f"merged {', '.join(names)} of {args.merge} into {output}")
        return 0
    if args.plot:
        print(f"wrote {plot(read_section(output, 'mac_baseline'), args.plot)}")
        return 0
    if args.table:
        try:
            found = {name: read_section(output, name) if name in names else None for name in SECTIONS}
        except (OSError, KeyError, ValueError) as error:
            print(f"error: {output}: {error}", file=sys.stderr)
            return 1
        print(markdown(found["table_v"], found["mac_baseline"]))
        return 0
    command = command_line(PROG, without_jobs(argv))
    tools = {"yosys": synth.tool_versions()["yosys"], **package_versions("amaranth")}
    written = run(names, args.quick, output, command, tools, max(1, args.jobs), tuple(args.part))
    print(markdown(written.get("table_v"), written.get("mac_baseline")))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
