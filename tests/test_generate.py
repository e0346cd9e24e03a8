# amaranth: UnusedElaboratable=no
"""The design registry and the ``python -m hdl.generate`` command line."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hdl.generate import main
from hdl.registry import designs, get_design

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "hdl.generate", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_list_prints_one_line_per_design_name_first():
    result = run_cli("--list")
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(designs())


def test_generate_writes_verilog_and_json(tmp_path):
    result = run_cli("sbq_encoder", "--bits", "4", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "sbq_encoder.v").read_text()
    assert re.search(r"^module sbq_encoder\(", text, re.M)
    info = json.loads((tmp_path / "sbq_encoder.json").read_text())
    assert info["design"] == "sbq_encoder"
    assert info["parameters"] == {"bits": 4}
    ports = {p["name"]: (p["direction"], p["width"]) for p in info["ports"]}
    assert ports == {
        "x": ("in", 4), "mag": ("out", 4), "off": ("out", 6), "neg": ("out", 2), "valid": ("out", 2)
    }
    assert info["tools"]["amaranth"].startswith("0.5")
    # every JSON port is a port of the Verilog top module, with that width
    for name, (direction, width) in ports.items():
        decl = "input" if direction == "in" else "output"
        size = "" if width == 1 else rf"(signed )?\[{width - 1}:0\] "
        assert re.search(rf"^\s*{decl} {size}{name};", text, re.M), name


def test_design_help_lists_parameters():
    result = run_cli("sbq_encoder", "--help")
    assert result.returncode == 0
    assert "--bits" in result.stdout and "4 or 8 (default 8)" in result.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["nonexistent"], "unknown design 'nonexistent' (designs: sbq_encoder"),
        (["sbq_encoder", "--bits", "5"], "error: sbq_encoder: bits must be one of 4, 8, got 5"),
        (["sbq_encoder", "--bits", "eight"], "error: sbq_encoder: bits must be an integer, got 'eight'"),
        (["sbq_ipu", "--budget", "2", "--comp", "3"],
         "error: sbq_ipu: comp must be <= budget (2): a lane offers at most one pair to its queue per cycle, got 3"),
        (["sbq_ipu", "--lanes", "0"], "error: sbq_ipu: lanes must be in 1..64, got 0"),
        (["sbq_encoder", "--width", "8"], "unknown argument '--width' (parameters: --bits"),
        (["sbq_encoder", "--bits"], "expected one argument"),
        (["--bits", "8"], "expected a design name first"),
        (["--list", "extra"], "--list takes no other arguments"),
        ([], "usage:"),
    ],
)
def test_errors_exit_2_with_one_line(args, expected):
    result = run_cli(*args)
    assert result.returncode == 2
    if args:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert expected in lines[0]
        assert "Traceback" not in result.stderr
    else:
        assert expected in result.stdout


def test_main_returns_status_without_exiting(tmp_path, capsys):
    assert main(["sbq_encoder", "-o", str(tmp_path)]) == 0
    assert main(["sbq_encoder", "--bits", "3"]) == 2


def test_registry_takes_defaults_and_checks_from_the_constructor():
    design = get_design("sbq_ipu")
    assert design.accelerator == "sbq"
    assert design.values() == {"lanes": 16, "budget": 4, "comp": 4, "depth": 4, "wbits": 4}
    assert design.values({"lanes": 2})["lanes"] == 2
    with pytest.raises(ValueError, match=r"^sbq_ipu has no parameter 'bits' \(parameters: lanes, budget"):
        design.values({"bits": 2})
    with pytest.raises(ValueError, match=r"^comp must be <= budget \(2\)"):
        design.build({"budget": 2, "comp": 3})
    with pytest.raises(ValueError, match=r"^unknown design 'nope' \(designs: sbq_encoder"):
        get_design("nope")


def test_design_rejects_a_parameter_the_constructor_lacks():
    from hdl.design import Design
    from hdl.sbq import TermEncoder

    with pytest.raises(TypeError, match="TermEncoder has no keyword-only parameter 'lanes'"):
        Design(name="x", component=TermEncoder, summary="", params={"lanes": "help"})


def test_json_ports_come_from_the_component_metadata(tmp_path):
    """The flat port list is the metadata's interface, with clk/rst first for a clocked design."""
    result = run_cli("sbq_lane", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    info = json.loads((tmp_path / "sbq_lane.json").read_text())
    assert info["accelerator"] == "sbq"
    names = [p["name"] for p in info["ports"]]
    assert names[:2] == ["clk", "rst"]
    assert info["interface"]["members"]["mult"]["members"]["payload"]["name"] == "mult__payload"
    assert set(names[2:]) == {"mult__payload", "mult__valid", "mult__ready", "result__payload", "result__valid",
                              "result__ready", "hold", "stall", "stall_next"}
    header = re.search(r"module\s+sbq_lane\s*\(([^)]*)\)", (tmp_path / "sbq_lane.v").read_text()).group(1)
    assert {n.strip() for n in header.split(",")} == set(names)


def _verilator():
    from sim.harness import missing_reason

    return None if missing_reason("verilator") else shutil.which("verilator")


@pytest.mark.parametrize("name", list(designs()))
def test_verilog_passes_verilator_lint(name, tmp_path):
    verilator = _verilator()
    if verilator is None:
        pytest.skip("Verilator is not installed")
    from hdl.generate import generate

    path = generate(name, None, tmp_path)["verilog"]
    result = subprocess.run([verilator, "--lint-only", "-Wno-fatal", path], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # Allowed: width warnings, ALWNEVER from Amaranth's own comb-initialisation idiom, and
    # CASEINCOMPLETE from its FSMs (a process assigns the signal's default first, then cases over the
    # states that drive it, so an uncovered state keeps the default).
    kinds = set(re.findall(r"%Warning-([A-Z]+)", result.stderr))
    assert kinds <= {"WIDTHEXPAND", "WIDTHTRUNC", "ALWNEVER", "CASEINCOMPLETE"}, result.stderr
    assert "%Error" not in result.stderr
