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
    assert "--bits" in result.stdout and "one of 4, 8" in result.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["nonexistent"], "unknown design 'nonexistent' (designs: sbq_encoder"),
        (["sbq_encoder", "--bits", "5"], "bits must be one of 4, 8, got 5"),
        (["sbq_encoder", "--bits", "eight"], "bits must be one of 4, 8, got 'eight'"),
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


def test_registry_validates_parameters():
    design = get_design("sbq_encoder")
    assert design.resolve() == {"bits": 8}
    assert design.resolve({"bits": "4"}) == {"bits": 4}
    with pytest.raises(ValueError, match="no parameter"):
        design.resolve({"lanes": 2})
    with pytest.raises(ValueError, match="unknown design"):
        get_design("nope")


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
    # Allowed: width warnings, and ALWNEVER from Amaranth's own comb-initialisation idiom.
    kinds = set(re.findall(r"%Warning-([A-Z]+)", result.stderr))
    assert kinds <= {"WIDTHEXPAND", "WIDTHTRUNC", "ALWNEVER"}, result.stderr
    assert "%Error" not in result.stderr
