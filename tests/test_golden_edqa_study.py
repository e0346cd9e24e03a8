"""The eDQA study commands: accuracy (Table 2, Figures 3-4) and compression (Table 1), on tiny runs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from golden.edqa import accuracy, compression
from qaccel.results import read_section

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module,option", [("golden.edqa.accuracy", "--minilm-limit"),
                                           ("golden.edqa.compression", "--minilm-batches")])
def test_help(module, option):
    r = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith(f"usage: python -m {module}") and option in r.stdout


@pytest.mark.parametrize("main", [accuracy.main, compression.main])
def test_bad_input_is_one_line_before_any_work(main, capsys):
    assert main(["--models", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown model 'nope'; known: digits_cnn, minilm"
    with pytest.raises(SystemExit) as stop:
        main(["--threads", "0"])
    assert stop.value.code == 2


def test_accuracy_tiny_run_writes_a_valid_section_and_plots(tmp_path):
    out = tmp_path / "edqa.json"
    out.write_text(json.dumps({"other": {"command": "x", "tools": {}, "config": {}, "data": {}}}))
    assert accuracy.main(["--models", "digits_cnn", "--limit", "40", "--bits", "3", "-o", str(out)]) == 0
    sec = read_section(out, "accuracy")
    assert sec["command"].startswith("python -m golden.edqa.accuracy --models digits_cnn --limit 40")
    data = sec["data"]["digits_cnn"]
    assert data["samples"] == 40 and data["metric"] == "accuracy"
    rows = data["rows"]
    assert {"fp32", "direct[N=3]", "pot[N=3]", "noisyquant[N=3]", "edqa[N=3,m=3,r=0.4]",
            "edqa[N=3,m=1,r=0.4]", "edqa[N=3,m=3,r=0.9]"} <= set(rows)
    # r = 0 is Direct, bit for bit: same metrics and same activation error
    assert rows["edqa[N=3,m=3,r=0]"]["metrics"] == rows["direct[N=3]"]["metrics"]
    assert rows["edqa[N=3,m=3,r=0]"]["error"] == rows["direct[N=3]"]["error"]
    summary = data["summary"]
    assert [p["ratio"] for p in summary["ratio"]] == [i / 10 for i in range(11)]
    assert summary["table"]["edqa"]["3"]["metric"] == rows["edqa[N=3,m=3,r=0.4]"]["metrics"]["accuracy"]
    errors = [p["error"] for p in summary["extra_bits"]]
    assert errors == sorted(errors, reverse=True)  # more extra bits, smaller activation error
    assert data["ranking"]["3"]["settings"]["model"] == "digits_cnn"
    # the random-ranking control: same number of important channels, other channels, mean over seeds
    controls = [rows[f"edqa-random[N=3,m=3,r=0.4,seed={seed}]"] for seed in (0, 1, 2)]
    control = summary["table"]["edqa_random"]["3"]
    assert control["seeds"] == 3
    assert control["error"] == sum(c["error"]["pooled"] for c in controls) / 3
    assert len({c["error"]["pooled"] for c in controls} | {rows["edqa[N=3,m=3,r=0.4]"]["error"]["pooled"]}) > 1
    assert read_section(out, "other")["command"] == "x"  # other sections kept
    for name in ("edqa_ratio.png", "edqa_extra_bits.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compression_tiny_run_writes_a_valid_section(tmp_path):
    out = tmp_path / "edqa.json"
    assert compression.main(["--models", "digits_cnn", "--digits-batches", "1", "-o", str(out)]) == 0
    data = read_section(out, "compression")["data"]["digits_cnn"]
    assert data["batches"] == 1 and data["packets"] == sum(data["important_channels"].values())
    assert data["uncompressed_bits"] == 3 * data["elements"]
    assert abs(sum(data["histogram"]) - 1) < 1e-3
    huffman = data["methods"]["huffman"]
    # each packet: codebook and B words, then the payload padded to whole words
    assert 64 * data["packets"] <= huffman["bits"] - huffman["payload_bits"] < 96 * data["packets"]
    assert 1 < huffman["ratio"] <= huffman["payload_ratio"] <= data["entropy_ratio"] + 1e-9
    assert set(data["methods"]) == {"huffman"} | {f"{c}/{f}" for c in ("deflate", "lzma", "zstd") for f in ("packed", "bytes")}


def test_packed_serialization_is_msb_first():
    import numpy as np

    assert compression._packed(np.array([5, 3, 7], dtype=np.uint8), 3) == bytes([0b10101111, 0b10000000])
