"""Ranking of the activation channels of every layer: Algorithm 3 of "eDQA: Efficient Deep
Quantization of DNN Activations on Edge Devices", on the calibration split.

Greedy and forward over the quantized layers (module order, the forward order of our networks).
For layer ``l`` and each of its channels ``c``, the model is run with

* every earlier layer quantized Direct at ``N`` bits except its *most important channel*, the first
  of its ranking, which stays float ("skipping quantization", the set ``P`` of the paper);
* layer ``l`` quantized Direct at ``N`` bits except channel ``c``, which stays float;
* every later layer float;

and scored on calibration data. Channels are ranked by score, best first; equal scores go to the
lower channel number (Python's stable sort, as the paper's ``>`` keeps the first best channel). The
score is a tuple compared lexicographically, higher is better:

* ``digits_cnn``: ``(accuracy, mean log-probability of the true label)`` on the 128 calibration
  images. Accuracy on 128 images ties often; the log-probability, a finer measure of the same
  thing, breaks the ties;
* ``minilm``: ``(mean cosine similarity with the FP32 embeddings,)`` on the first ``sentences``
  calibration sentences (16 by default).

Every layer keeps the static ``absmax`` calibrated on the whole calibration split (float pass),
as the scheme does.

Cost: one forward pass per channel (``O(total channels)``). The ``minilm`` evaluator
(:class:`SentenceStages`) keeps the input of the encoder block holding layer ``l``, runs only that
block and the later ones, and batches the candidate channels (one copy of the sentences per
candidate, channel ``c_k`` float in copy ``k``). Any other network runs the whole model once per
channel (:class:`FullForward`; ``digits_cnn``: 145 channels, seconds).

Rankings are cached in ``build/edqa/ranking/<model>-N<bits>-<key>.json``; the key hashes the
settings (network, bits, metric, data, algorithm version) and a fingerprint of the float weights.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from golden.quant import ActParams, emulated_layers, quantize_model

from .layer import ActScheme, direct_fake_quant

__all__ = [
    "Ranking",
    "RankScheme",
    "FullForward",
    "SentenceStages",
    "rank_channels",
    "network_ranking",
    "ranking_path",
    "DEFAULT_CACHE",
    "DEFAULT_SENTENCES",
]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO / "build" / "edqa" / "ranking"
DEFAULT_SENTENCES = 16
#: Rows (candidates x tokens) per batched minilm forward pass.
CANDIDATE_ROWS = 8192
VERSION = 1


class RankScheme(ActScheme):
    """Direct at ``n_bits`` with the channels kept float that the ranking asks for.

    Per layer, ``params.extra["mode"]`` is ``"float"`` (the layer is not quantized) or
    ``"keep"`` with ``params.extra["keep"]``, int64 ``[K]``: the rows of the input are ``K`` equal
    groups (candidate-major) and group ``k`` keeps channel ``keep[k]`` float. ``K = 1`` keeps one
    channel float in every row. ``params.extra["copies"] = n`` (default 1) promises that the rows
    are ``n`` copies of the same data: the first copy is quantized and repeated.
    """

    name = "edqa-rank"
    short = "rank"

    def act_params(self, stats) -> ActParams:
        params = super().act_params(stats)
        params.extra["mode"] = "float"
        return params

    def dequantized(self, x2d: torch.Tensor, params: ActParams) -> torch.Tensor:
        if params.extra["mode"] == "float":
            return x2d
        keep, copies = params.extra["keep"], params.extra.get("copies", 1)
        rows, channels = x2d.shape
        if rows % len(keep) or rows % copies:
            raise ValueError(f"{rows} rows do not split into {len(keep)} candidate groups and {copies} copies")
        out = direct_fake_quant(x2d[: rows // copies], self.n_bits, params.extra["absmax"]).repeat(copies, 1)
        index = keep.view(-1, 1, 1).expand(len(keep), rows // len(keep), 1)
        out.view(len(keep), -1, channels).scatter_(2, index, x2d.view(len(keep), -1, channels).gather(2, index))
        return out


def _keep(layer, channels) -> None:
    layer.params.extra.update(mode="keep", keep=torch.as_tensor(channels, dtype=torch.int64).reshape(-1))


Score = tuple  # of floats, higher is better


class FullForward:
    """Scores every channel of a layer with one whole forward pass each: ``score(qmodel) -> tuple``."""

    def __init__(self, score: Callable[[nn.Module], Score]):
        self.score = score

    def __call__(self, qmodel: nn.Module, name: str, layer, tick: Callable[[int], None]) -> list[Score]:
        scores = []
        for c in range(layer.params.extra["channels"]):
            _keep(layer, [c])
            scores.append(tuple(float(v) for v in self.score(qmodel)))
            tick(1)
        return scores


class _Stop(Exception):
    pass


class SentenceStages:
    """Scores the channels of a ``minilm`` layer from the input of its encoder block.

    ``batches``: the tokenized sentences (``input_ids``, ``attention_mask``), ideally of equal length
    each; ``reference``: their FP32 embeddings. For a layer of block ``i``, the input of block ``i``
    is captured once per batch under the current quantization (the forward pass stops there), then
    blocks ``i``.. and the pooling run on ``K`` copies of the batch, copy ``k`` keeping candidate
    channel ``k`` float, ``K * tokens <= CANDIDATE_ROWS``. Score: mean cosine with the reference.
    """

    def __init__(self, batches: list[dict], reference: list[torch.Tensor], rows: int = CANDIDATE_ROWS):
        self.batches, self.reference, self.rows = batches, reference, rows
        self.sentences = sum(len(r) for r in reference)

    @staticmethod
    def block(name: str) -> int:
        found = re.match(r"bert\.encoder\.layer\.(\d+)\.", name)
        if not found:
            raise ValueError(f"{name} is not a layer of an encoder block")
        return int(found.group(1))

    def __call__(self, qmodel: nn.Module, name: str, layer, tick: Callable[[int], None]) -> list[Score]:
        blocks = qmodel.bert.encoder.layer
        first = self.block(name)
        channels = layer.params.extra["channels"]
        total = torch.zeros(channels, dtype=torch.float64)
        for index, (batch, ref) in enumerate(zip(self.batches, self.reference)):
            last = index == len(self.batches) - 1
            captured = {}

            def capture(module, args, kwargs):
                captured.update(args=args, kwargs=kwargs)
                raise _Stop

            handle = blocks[first].register_forward_pre_hook(capture, with_kwargs=True)
            try:
                qmodel(**batch)
            except _Stop:
                pass
            finally:
                handle.remove()
            g, tokens = batch["input_ids"].shape
            per_pass = max(1, min(channels, self.rows // (g * tokens)))
            mask = batch["attention_mask"].unsqueeze(-1).float()
            # up to layer l, block `first` computes on k identical copies: quantize one
            in_block = emulated_layers(blocks[first]).values()
            for start in range(0, channels, per_pass):
                cand = list(range(start, min(channels, start + per_pass)))
                k = len(cand)
                _keep(layer, cand)
                for other in in_block:
                    other.params.extra["copies"] = k

                def repeat(value):
                    if isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == g:
                        return value.repeat(k, *([1] * (value.dim() - 1)))
                    return value

                args = [repeat(a) for a in captured["args"]]
                kwargs = {key: repeat(v) for key, v in captured["kwargs"].items()}
                hidden = args[0]
                for j in range(first, len(blocks)):
                    hidden = blocks[j](hidden, *args[1:], **kwargs)
                m = mask.repeat(k, 1, 1)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                emb = nn.functional.normalize(pooled, p=2, dim=1).view(k, g, -1)
                cos = (emb.double() * nn.functional.normalize(ref.double(), dim=1)[None]).sum(-1)
                total[start : start + k] += cos.sum(1)
                if last:
                    tick(k)
            for other in in_block:
                other.params.extra["copies"] = 1
        return [(float(t) / self.sentences,) for t in total]


@dataclass
class Ranking:
    """Channel ranking of every layer: ``order[layer]`` most important first, ``scores[layer][c]``
    the score of channel ``c``, ``settings`` what it was computed with, ``seconds`` how long."""

    order: dict[str, list[int]]
    scores: dict[str, list[list[float]]]
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    def most_important(self) -> dict[str, int]:
        return {name: order[0] for name, order in self.order.items()}

    def to_json(self) -> dict:
        return {"settings": self.settings, "seconds": self.seconds, "order": self.order, "scores": self.scores}

    @classmethod
    def from_json(cls, blob: dict) -> "Ranking":
        return cls(blob["order"], blob["scores"], blob.get("settings", {}), blob.get("seconds", 0.0))


def rank_channels(qmodel: nn.Module, evaluator, progress: bool = True, desc: str = "edqa ranking") -> Ranking:
    """Algorithm 3 on ``qmodel``, quantized (and calibrated) with :class:`RankScheme`.

    ``evaluator(qmodel, name, layer, tick) -> [score per channel]`` (:class:`FullForward`,
    :class:`SentenceStages`) sets the layer's kept channel for each candidate and calls ``tick(n)``
    after ``n`` candidates. Leaves every layer keeping its most important channel float.
    """
    layers = emulated_layers(qmodel)
    if not layers or any(not isinstance(layer.scheme, RankScheme) for layer in layers.values()):
        raise ValueError("rank_channels needs a model quantized with RankScheme")
    for layer in layers.values():
        layer.params.extra["mode"] = "float"
    total = sum(layer.params.extra["channels"] for layer in layers.values())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="ch", file=sys.stderr)
    order, scores = {}, {}
    start = time.perf_counter()
    try:
        with torch.no_grad():
            for name, layer in layers.items():
                if bar is not None:
                    bar.set_postfix_str(name)
                got = evaluator(qmodel, name, layer, bar.update if bar is not None else (lambda n: None))
                if len(got) != layer.params.extra["channels"]:
                    raise ValueError(f"{name}: {len(got)} scores for {layer.params.extra['channels']} channels")
                ranked = sorted(range(len(got)), key=lambda c: (tuple(-v for v in got[c]), c))
                order[name], scores[name] = ranked, [list(s) for s in got]
                _keep(layer, [ranked[0]])
    finally:
        if bar is not None:
            bar.close()
    return Ranking(order, scores, seconds=round(time.perf_counter() - start, 2))


# --------------------------------------------------------------------------------------------------
# Rankings of the real networks, cached


def _digits_evaluator(net, settings: dict):
    x, y = net.splits["calib"]
    settings.update(metric=["accuracy", "mean log-probability of the label"], data=f"calibration split, {len(y)} images")

    def score(qmodel):
        logp = torch.log_softmax(qmodel(x), dim=1)
        return float((logp.argmax(1) == y).double().mean()), float(logp.gather(1, y[:, None]).double().mean())

    return FullForward(score)


def _minilm_evaluator(net, settings: dict, sentences: int):
    from golden.models import sentences as corpus

    texts = corpus.splits()["calib"][:sentences]
    if len(texts) < 1:
        raise ValueError("sentences must be >= 1")
    settings.update(metric=["mean cosine with the FP32 embeddings"],
                    data=f"the first {len(texts)} calibration sentences, batched by equal token count")
    groups: dict[int, list[str]] = {}
    for text, ids in zip(texts, net.tokenizer(texts, truncation=True, max_length=256)["input_ids"]):
        groups.setdefault(len(ids), []).append(text)
    batches = []
    for length in sorted(groups):
        enc = net.tokenizer(groups[length], padding=True, truncation=True, max_length=256, return_tensors="pt")
        batches.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})
    with torch.no_grad():
        reference = [net.load()(**b) for b in batches]
    return SentenceStages(batches, reference)


def _settings(net, n_bits: int, sentences: int) -> tuple[dict, Callable]:
    settings = {"model": net.name, "n_bits": n_bits, "quantizer": "direct, most important channel kept float",
                "absmax": "calibrated per layer on the whole calibration split", "version": VERSION}
    if net.name == "digits_cnn":
        evaluator = _digits_evaluator(net, settings)
    elif net.name == "minilm":
        evaluator = _minilm_evaluator(net, settings, sentences)
        settings["sentences"] = sentences
    else:
        raise ValueError(f"no channel-ranking metric is defined for network {net.name!r}")
    settings["weights"] = _fingerprint(net.load())
    return settings, evaluator


def _fingerprint(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def ranking_path(settings: dict, cache: Path = DEFAULT_CACHE) -> Path:
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache) / f"{settings['model']}-N{settings['n_bits']}-{key}.json"


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def network_ranking(net, n_bits: int, sentences: int = DEFAULT_SENTENCES, cache: Path | None = DEFAULT_CACHE,
                    progress: bool = True, recompute: bool = False) -> Ranking:
    """The ranking of network ``net`` (a :class:`golden.models.Network`) at ``n_bits``, from the cache
    when it holds one for the same settings, else computed (and cached unless ``cache`` is None)."""
    settings, evaluator = _settings(net, n_bits, sentences)
    path = ranking_path(settings, cache) if cache is not None else None
    with (_locked(path) if path is not None else contextlib.nullcontext()):
        if path is not None and path.exists() and not recompute:
            ranking = Ranking.from_json(json.loads(path.read_text()))
            if ranking.settings == settings:
                return ranking
        qmodel = quantize_model(net.load(), RankScheme(n_bits), net.calibrate)
        ranking = rank_channels(qmodel, evaluator, progress, desc=f"edqa ranking {net.name} N={n_bits}")
        ranking.settings = settings
        if path is not None:
            partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(ranking.to_json()) + "\n")
            partial.replace(path)
    return ranking
