# amaranth: UnusedElaboratable=no
"""The SBQ comparisons (bench/sbq/compare.py): per-multiplication figures and ratios from known
counts, every candidate named with its test, the tables, and one real measurement of a small part."""

from pathlib import Path

import pytest

from bench.sbq import compare
from hdl.sbq.pair_generator import PairGenerator

REPO = Path(__file__).resolve().parents[1]


def _entry(transistors, luts, rate, nodsp_luts=None):
    entry = {"cmos": {"transistors": transistors, "ff_transistors": 0}, "xilinx": {"luts": luts, "ffs": 0, "dsps": 0},
             "mults_per_cycle": rate}
    if nodsp_luts is not None:
        entry["xilinx_nodsp"] = {"luts": nodsp_luts, "ffs": 0, "dsps": 0}
    return entry


def test_per_multiplication_divides_by_the_rate_and_compares_with_the_mac_of_its_width():
    parts = {"mac_w4a8": _entry(1600, 100, 16, nodsp_luts=320), "ipu_w4a8_b4": _entry(2000, 800, 4),
             "ipu_w8a8_b2": _entry(900, 90, 8)}  # no W8A8 MAC measured: no ratio
    per = compare.per_multiplication(parts)
    assert per["mac_w4a8"] == {"transistors": 100.0, "luts": 20.0}  # LUTs without DSPs
    assert per["ipu_w4a8_b4"] == {"transistors": 500.0, "luts": 200.0, "transistors_over_mac": 5.0,
                                  "luts_over_mac": 10.0}
    assert per["ipu_w8a8_b2"] == {"transistors": 112.5, "luts": 11.2}


def test_table_v_ratios_and_the_papers():
    groups = {"setup_a": {"bubble_sorter": _entry(3000, 300, 1), "term_generator": _entry(1000, 100, 1),
                          "pair_generator": _entry(500, 150, 1)},
              "setup_b_b4": {"pair_generator": _entry(400, 1, 1), "sort_ranker_bitonic": _entry(1000, 1, 1)}}
    ratios = compare._table_v_ratios(groups)
    assert ratios == {
        "a_bubble_sorter_over_term_generator_transistors": 3.0, "a_bubble_sorter_over_term_generator_luts": 3.0,
        "a_bubble_sorter_over_pair_generator_transistors": 6.0, "a_bubble_sorter_over_pair_generator_luts": 2.0,
        "setup_b_b4_sort_ranker_bitonic_over_pair_generator_transistors": 2.5,
    }
    paper = compare._paper_ratios()
    assert paper["bubble_sorter_over_generator_area"] == 24.38 and paper["bitonic_sorter_over_generator_area"] == 19.33
    assert paper["bubble_sorter_over_generator_power"] == 12.52 and paper["bitonic_sorter_over_generator_power"] == 27.05


def test_every_candidate_is_built_and_names_an_existing_test():
    for quick in (False, True):
        for group, parts in compare.table_v_parts(quick).items():
            for key, factory in parts.items():
                component = factory()
                if group.startswith("setup_b"):
                    assert component.budget == component.comp
                    assert (REPO / compare.TESTED_BY[key].split("::")[0]).exists()
    assert set(compare.mac_parts()) == {"mac_w4a8", "mac_w8a8", "ipu_w4a8_b2", "ipu_w4a8_b3", "ipu_w4a8_b4", "ipu_w8a8_b4"}
    assert compare.mac_parts()["ipu_w4a8_b3"][1] == 16 / 3 and compare.mac_parts()["mac_w8a8"][1] == 16


def test_markdown_of_both_sections():
    table_v = {"data": {"groups": {"setup_a": {"pair_generator": _entry(500, 150, 1)}},
                        "ratios": {"a_bubble_sorter_over_pair_generator_transistors": 6.0},
                        "paper": compare._paper_ratios()}}
    mac = {"data": {"parts": {"mac_w4a8": _entry(1600, 100, 16, nodsp_luts=320)},
                    "per_multiplication": {"mac_w4a8": {"transistors": 100.0, "luts": 20.0}}}}
    text = compare.markdown(table_v, mac)
    assert "| setup_a | `pair_generator` | 500 | 0 | 150 | 0 | - |" in text
    assert "| `a_bubble_sorter_over_pair_generator_transistors` | 6.0x | 24.38x / 12.52x |" in text
    assert "| `mac_w4a8` | 16 | 1600 | 100.0 | - | 320 | 0 | 100 | 0 | 20.0 | - | - |" in text


def test_measure_a_small_part(tmp_path):
    entry = compare.measure(PairGenerator(budget=1, comp=0, wbits=4), "pg", tmp_path)
    assert entry["cmos"]["transistors"] > entry["cmos"]["ff_transistors"] == 16 * entry["cmos"]["ffs"] > 0
    assert entry["xilinx"]["luts"] > 0 and "ecp5" not in entry


def test_plot_of_the_mac_baseline(tmp_path):
    mac = {"data": {"per_multiplication": {"mac_w4a8": {"transistors": 100.0, "luts": 20.0},
                                           "ipu_w4a8_b4": {"transistors": 500.0, "luts": 200.0,
                                                           "transistors_over_mac": 5.0}}}}
    path = compare.plot(mac, tmp_path / "mac.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_slow_bubble_ranker_only_when_named_or_in_the_single_abc_group():
    found = [(job[1], job[2]) for job in compare.jobs(["table_v"], False)]
    assert ("setup_b_b4", "sort_ranker_bitonic") in found and ("setup_b_b4", "sort_ranker_bubble") not in found
    assert [key for group, key in found if group == compare.SINGLE_ABC_GROUP] == [
        "term_generator", "pair_generator", "sort_ranker_bubble", "sort_ranker_bitonic"]
    named = [(job[1], job[2]) for job in compare.jobs(["table_v"], False, ("setup_b_b4/sort_ranker_bubble",))]
    assert ("setup_b_b4", "sort_ranker_bubble") in named
    assert compare._named("g", "k", ("k",)) and compare._named("g", "k", ("g/k",)) and not compare._named("g", "k", ("h/k",))
    assert set(compare.LEFT_OUT) == {"sort_ranker_bubble"}
    assert compare.SINGLE_ABC_GROUP not in compare.table_v_parts(quick=True)


def test_markdown_of_a_part_without_7_series_figures():
    table_v = {"data": {"groups": {"setup_b_b4_single_abc": {"sort_ranker_bubble": {
        "cmos": {"transistors": 73282, "ff_transistors": 2304}}}}, "ratios": {}, "paper": compare._paper_ratios()}}
    assert "| setup_b_b4_single_abc | `sort_ranker_bubble` | 73282 | 2304 | - | - | - |" in compare.markdown(table_v, None)


def test_the_recorded_command_leaves_out_only_the_jobs():
    assert compare.without_jobs(["--only", "table_v", "-j", "2", "--part", "a/b"]) == ["--only", "table_v", "--part", "a/b"]
    assert compare.without_jobs(["-j16", "--jobs=4", "--jobs", "3", "--quick"]) == ["--quick"]
