"""The cost bench (bench/cost.py, bench/plan.py): command-line errors, flat keys, loud plan errors,
every design in its accelerator's plan, and one real synthesis run of the smallest design."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cost
from bench.plan import CostPart, CostPlan
from hdl.registry import designs

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv, message", [
    (["nope"], "error: unknown target 'nope' (accelerators: sbq, edqa"),
    (["sbq_ipu", "--size", "3"], "error: sbq_ipu: unknown argument '--size' (parameters: --lanes,"),
    (["sbq", "--lanes", "3"], "error: sbq: unknown argument '--lanes'"),
    (["sbq_ipu", "--lanes", "0"], "error: sbq_ipu: lanes must be in 1..64, got 0"),
    (["sbq_encoder", "--bits", "five"], "error: argument --bits: invalid int value: 'five'"),
    (["sbq", "--only", "ipu", "nope"], "error: sbq: unknown part 'nope' (parts: term_encoder_a8,"),
    (["sbq_ipu", "--quick"], "error: sbq_ipu: --quick and --only apply to an accelerator target"),
    (["sbq", "sbq_lane", "-o", "x.json"], "error: -o takes a single target"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    assert cost.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and err.count("\n") == 1


def _entry(luts, ffs, dsps, fmax, ecp5_luts):
    return {"xilinx": {"luts": luts, "ffs": ffs, "dsps": dsps}, "ecp5": {"luts": ecp5_luts, "fmax_mhz": fmax}}


def test_flat_keys_from_parts():
    parts = {"a": _entry(30, 4, 0, 100.0, 40), "b": _entry(10, 2, 1, None, 8)}
    parts["a"]["cmos"], parts["b"]["cmos"] = {"transistors": 900}, {"transistors": 200}
    ratios = {"a_over_b": ("a", "b", "xilinx"), "ecp5_a_over_b": ("a", "b", "ecp5"), "a_over_c": ("a", "c", "xilinx"),
              "cmos_a_over_b": ("a", "b", "cmos")}
    assert cost.flat_keys(parts, ratios) == {
        "a_luts": 30, "a_ffs": 4, "a_dsps": 0, "a_fmax_mhz": 100.0, "a_transistors": 900,
        "b_luts": 10, "b_ffs": 2, "b_dsps": 1, "b_fmax_mhz": None, "b_transistors": 200,
        "a_over_b": 3.0, "ecp5_a_over_b": 5.0, "cmos_a_over_b": 4.5,  # a_over_c: part c was not measured
    }


def test_sbq_plan_keeps_the_flat_key_names():
    plan = cost.plans()["sbq"]
    parts = {part.key: _entry(2 + n, n, 0, 50.0, 3 + n) for n, part in enumerate(plan.parts) if part.default}
    flat = cost.flat_keys(parts, plan.ratios)
    for key in ("ipu_luts", "ipu_ffs", "ipu_dsps", "ipu_fmax_mhz", "lane_luts", "lane_ffs", "term_generator_luts",
                "term_generator_w8_luts", "bubble_sorter_luts", "bitonic_sorter_luts"):
        assert key in flat
    w8 = parts["term_generator_w8"]["xilinx"]["luts"]
    assert flat["bubble_over_term_generator"] == round(parts["bubble_sorter"]["xilinx"]["luts"] / w8, 2)
    assert flat["bitonic_over_term_generator"] == round(parts["bitonic_sorter"]["xilinx"]["luts"] / w8, 2)


def test_every_design_is_a_part_of_its_accelerators_plan():
    plans = cost.plans()
    for name, design in designs().items():
        assert any(part.design == name for part in plans[design.accelerator].parts), name


def test_plan_errors_raise():
    with pytest.raises(ModuleNotFoundError):
        CostPart("x", "missing module", component="hdl.sbq.no_such_module:Thing").build()
    with pytest.raises(AttributeError):
        CostPart("x", "missing class", component="hdl.sbq.sorters:NoSuchSorter").build()
    with pytest.raises(ValueError, match="unknown design"):
        CostPart("x", "missing design", design="no_such_design").build()
    with pytest.raises(ValueError, match="exactly one"):
        CostPart("x", "neither")
    with pytest.raises(ValueError, match="unknown part 'y'"):
        CostPlan(parts=(CostPart("x", "ok", design="sbq_encoder"),), ratios={"x_over_y": ("x", "y")})


def test_a_part_that_fails_to_import_stops_the_run(monkeypatch, tmp_path):
    broken = CostPart("broken", "missing module", component="hdl.sbq.no_such_module:Thing")
    monkeypatch.setattr(cost, "plans", lambda: {"sbq": CostPlan(parts=(broken,))})
    output = tmp_path / "sbq.json"
    with pytest.raises(ModuleNotFoundError):
        cost.main(["sbq", "-o", str(output)])
    assert not output.exists()  # no results file holding an "error" entry


def test_one_design_run(tmp_path, capsys):
    output = tmp_path / "encoder.json"
    argv = ["sbq_encoder", "--bits", "4", "-o", str(output)]
    subprocess.run([sys.executable, "-m", "bench.cost", *argv], cwd=REPO, check=True, capture_output=True)
    document = json.loads(output.read_text())
    section = document["cost"]
    assert set(section) == {"command", "tools", "config", "data", "flat"}
    assert section["command"] == "python -m bench.cost " + " ".join(argv)
    assert {"yosys", "nextpnr-ecp5", "amaranth"} <= set(section["tools"])
    assert section["config"]["complete"] and not section["config"]["quick"] and set(section["config"]["flows"]) == {
        "xilinx", "ecp5", "cmos"}
    part = section["data"]["parts"]["sbq_encoder"]
    assert part["design"] == "sbq_encoder" and part["params"] == {"bits": 4}
    for field in ("luts", "lutram_luts", "ffs", "dsps", "carry", "bram"):
        assert isinstance(part["xilinx"][field], int)
    assert part["ecp5"]["fmax_mhz"] > 0
    flat = {key: document[key] for key in ("sbq_encoder_luts", "sbq_encoder_ffs", "sbq_encoder_dsps",
                                           "sbq_encoder_fmax_mhz", "sbq_encoder_transistors")}
    assert flat["sbq_encoder_luts"] == part["xilinx"]["luts"] and flat["sbq_encoder_ffs"] == 0
    assert flat["sbq_encoder_transistors"] == part["cmos"]["transistors"] > 0 and part["cmos"]["ffs"] == 0

    assert cost.main(["sbq_encoder", "--table", "-o", str(output)]) == 0
    table = capsys.readouterr().out
    assert f"| `sbq_encoder` | {part['xilinx']['luts']} |" in table
    assert table.splitlines()[2].endswith(f"| {part['cmos']['transistors']} |")
