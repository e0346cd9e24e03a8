"""eDQA at the layer level (Algorithms 1 and 2 of "eDQA: Efficient Deep Quantization of DNN
Activations on Edge Devices"), on top of the channel semantics of :mod:`golden.edqa.model`.

A layer's activations are its input seen as ``[rows, C]`` (the channel axis of
:class:`golden.quant.ActStats`: the input features of a Linear, the input channels of a Conv2d, one
row per token or pixel). Our decisions where the paper leaves a choice:

* **One static scale per layer.** ``absmax`` is the absolute maximum of the layer input over the
  whole calibration split (:func:`layer_absmax`), fixed afterwards, as a hardware scale register
  holds it; values beyond it clamp. (The paper's ``max(A_layer)`` could be read as the maximum of
  the current batch; a per-batch maximum would need a reduction over the whole tensor before the
  first channel can be quantized.)
* **Important channels** of a layer are the first ``k`` of its ranking (most important first, see
  :mod:`golden.edqa.ranking`) with ``k = floor(ratio * C + 1/2)`` (:func:`important_count`): the
  nearest integer, halves up, computed exactly (``ratio`` as the decimal it is written as). So
  ``ratio = 0`` gives no important channel (eDQA is Direct) and ``ratio = 1`` makes every channel
  important (eDQA is Direct at ``N + m`` bits, the scales being exact powers of two apart).
* **Direct** is the "other channel" formula for every channel: :func:`direct_fake_quant` is
  :func:`edqa_fake_quant` with no important channel, computed by the same functions.

:class:`ActScheme` is the base of the activation-only schemes (eDQA and its baselines) of the
harness (:mod:`golden.quant`): float32 weights, one static ``absmax`` per layer, and optionally the
quantization error of every layer input (:func:`quantization_error`).
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch

from golden.quant import ActParams, ActStats, Scheme, emulated_layers

from .model import dequantize_layer, quantize_layer

__all__ = [
    "check_ratio",
    "important_count",
    "important_mask",
    "layer_absmax",
    "edqa_quantize",
    "edqa_fake_quant",
    "direct_fake_quant",
    "ActScheme",
    "quantization_error",
]

#: ``m`` handed to the model for a layer without important channels (it touches no value there).
DIRECT_M = 1


def check_ratio(ratio) -> float:
    """``ratio`` as a float in ``[0, 1]`` (``ValueError`` otherwise)."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
        raise ValueError(f"ratio must be a number in [0, 1], got {ratio!r}")
    return float(ratio)


def important_count(channels: int, ratio) -> int:
    """How many of ``channels`` are important at ``ratio``: ``floor(ratio * channels + 1/2)``, exact."""
    ratio = check_ratio(ratio)
    if channels < 0:
        raise ValueError(f"channels must be >= 0, got {channels}")
    return math.floor(Fraction(repr(ratio)) * channels + Fraction(1, 2))


def important_mask(order, channels: int, ratio) -> torch.Tensor:
    """Bool ``[channels]``: the first :func:`important_count` channels of ``order`` (a ranking, most
    important first; it must hold every channel once)."""
    order = [int(c) for c in order]
    if sorted(order) != list(range(channels)):
        raise ValueError(f"a ranking must hold each of the {channels} channels once, got {len(order)} entries")
    mask = torch.zeros(channels, dtype=torch.bool)
    mask[order[: important_count(channels, ratio)]] = True
    return mask


def layer_absmax(stats: ActStats) -> float:
    """The calibrated absolute maximum of a layer input (a float32 value); ``ValueError`` when the
    layer saw no calibration data or only zeros (no scale exists)."""
    if stats.rows == 0:
        raise ValueError("the layer saw no calibration data")
    absmax = float(torch.tensor(max(-stats.lo, stats.hi), dtype=torch.float32))
    if not absmax > 0:
        raise ValueError("the layer input is zero over the whole calibration split: no scale")
    return absmax


def edqa_quantize(x2d: torch.Tensor, mask: torch.Tensor, n_bits: int, m_extra: int, absmax: float):
    """Algorithm 1: ``(q, se)`` int64 ``[rows, C]`` of the activations ``x2d`` (float32)."""
    return quantize_layer(x2d, mask, n_bits, m_extra, absmax)


def edqa_fake_quant(x2d: torch.Tensor, mask: torch.Tensor, n_bits: int, m_extra: int, absmax: float) -> torch.Tensor:
    """Algorithms 1 then 2: the de-quantized activations, float32 ``[rows, C]``, bit-exact to the
    semantics (the shift errors go back unchanged: the Huffman code is lossless)."""
    q, se = quantize_layer(x2d, mask, n_bits, m_extra, absmax)
    return dequantize_layer(q, se, mask, n_bits, m_extra, absmax)


def direct_fake_quant(x2d: torch.Tensor, n_bits: int, absmax: float) -> torch.Tensor:
    """Direct quantization and de-quantization of every channel at ``n_bits``."""
    mask = torch.zeros(x2d.shape[1], dtype=torch.bool)
    return edqa_fake_quant(x2d, mask, n_bits, DIRECT_M, absmax)


def check_n_bits(n_bits) -> int:
    if isinstance(n_bits, bool) or not isinstance(n_bits, int) or not 2 <= n_bits <= 16:
        raise ValueError(f"n_bits must be an integer in 2..16, got {n_bits!r}")
    return n_bits


class ActScheme(Scheme):
    """An activation-only scheme (``act_only``): weights float32, the input of every layer replaced
    by ``dequantized(x2d, params)``, with ``params.extra["absmax"]`` (:func:`layer_absmax`) and
    ``params.extra["channels"]``. With ``track_error`` set, each layer also sums the squared error
    of its de-quantized inputs and their squared values (:func:`quantization_error`)."""

    act_only = True
    wbits = 32
    asymmetric = False
    name = "act"
    short = "act"  # the label is ``short[N=n]``

    def __init__(self, n_bits: int = 3):
        self.n_bits = self.abits = check_n_bits(n_bits)
        self.track_error = False

    @property
    def label(self) -> str:
        return f"{self.short}[N={self.n_bits}]"

    def config(self) -> dict:
        return {"name": self.name, "n_bits": self.n_bits, "act_only": True, "weights": "float32",
                "absmax": "static per layer, calibrated"}

    def act_params(self, stats: ActStats) -> ActParams:
        absmax = layer_absmax(stats)
        delta = float(torch.tensor(absmax, dtype=torch.float32) * 2.0 ** -(self.n_bits - 1))
        return ActParams(delta, 0, {"absmax": absmax, "channels": int(stats.absmax_per_feature.numel())})

    def dequantized(self, x2d: torch.Tensor, params: ActParams) -> torch.Tensor:
        raise NotImplementedError

    def fake_quant_act(self, x2d: torch.Tensor, params: ActParams) -> torch.Tensor:
        x_deq = self.dequantized(x2d, params)
        if self.track_error:
            acc = params.extra.setdefault("error", [0.0, 0.0, 0])
            x, d = x2d.detach().double(), x_deq.detach().double()
            acc[0] += float(((d - x) ** 2).sum())
            acc[1] += float((x**2).sum())
            acc[2] += x2d.numel()
        return x_deq


def quantization_error(qmodel) -> dict:
    """The relative RMS error ``||x_deq - x|| / ||x||`` of the layer inputs seen since the layers'
    schemes had ``track_error`` set: ``pooled`` over every element of every layer, ``layer_mean`` the
    mean of the per-layer figures, ``layers`` each layer's."""
    per_layer, err, ref = {}, 0.0, 0.0
    for name, layer in emulated_layers(qmodel).items():
        acc = (layer.params.extra if layer.params else {}).get("error")
        if acc and acc[1] > 0:
            per_layer[name] = (acc[0] / acc[1]) ** 0.5
            err, ref = err + acc[0], ref + acc[1]
    if not per_layer:
        raise ValueError("no layer tracked its quantization error (set scheme.track_error before running)")
    return {"pooled": (err / ref) ** 0.5, "layer_mean": sum(per_layer.values()) / len(per_layer), "layers": per_layer}
