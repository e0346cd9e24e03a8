"""The results-file shape (``qaccel.results``): sections, flat keys rebuilt on every write."""

import json

import pytest

from qaccel.results import print_section, read_section, section, write_section


def _section(command, flat=None, data=None):
    return section(command=command, tools={}, config={}, data=data or {}, flat=flat)


def test_flat_figures_may_be_dicts_and_are_rebuilt(tmp_path):
    out = tmp_path / "x.json"
    write_section(out, "performance", _section("python -m a", flat={"latency_cycles": {"49": 117}, "fclk_mhz": 100.0}))
    write_section(out, "accuracy", _section("python -m b", data={"rows": 1}))
    document = json.loads(out.read_text())
    assert document["latency_cycles"] == {"49": 117} and document["fclk_mhz"] == 100.0
    assert read_section(out, "accuracy")["data"] == {"rows": 1}
    write_section(out, "performance", _section("python -m a", flat={"fclk_mhz": 125.0}))
    document = json.loads(out.read_text())
    assert "latency_cycles" not in document and document["fclk_mhz"] == 125.0  # never stale


def test_a_stray_top_level_key_is_an_error(tmp_path):
    out = tmp_path / "x.json"
    out.write_text(json.dumps({"stray": {"a": 1}}))
    with pytest.raises(ValueError, match="section 'stray' must hold command, tools, config, data"):
        write_section(out, "accuracy", _section("python -m b"))


def test_a_flat_key_of_two_sections_is_an_error(tmp_path):
    out = tmp_path / "x.json"
    write_section(out, "one", _section("python -m a", flat={"fmax": 1}))
    with pytest.raises(ValueError, match="flat key 'fmax' is produced by both"):
        write_section(out, "two", _section("python -m b", flat={"fmax": 2}))


def test_print_section_renders_the_data_or_says_what_is_missing(tmp_path, capsys):
    out = tmp_path / "x.json"
    write_section(out, "accuracy", _section("python -m b", data={"rows": 3}))
    assert print_section(out, "accuracy", lambda data: f"rows={data['rows']}") == 0
    assert capsys.readouterr().out == "rows=3\n"
    assert print_section(out, "accuracy", lambda found: found["command"], data_only=False) == 0
    assert capsys.readouterr().out == "python -m b\n"
    assert print_section(out, "cost", str) == 2
    assert "has no section 'cost'" in capsys.readouterr().err
    assert print_section(tmp_path / "missing.json", "cost", str) == 2
    assert "missing.json" in capsys.readouterr().err
