"""HAP as a quantization scheme of the real-network harness (:mod:`golden.quant`), and the uniform
baselines of its accuracy table.

``HAPScheme``: activations 8-bit asymmetric per tensor (the quantizer of :mod:`golden.hap.dar`, which
is the asymmetric quantizer of :class:`golden.quant.UniformScheme`), weights dual precision per
output channel (:mod:`golden.hap.weights`). DAR re-codes every group of activation codes as a base
and a residual without loss, so the integer accumulation equals the exact integer matmul of the
8-bit asymmetric codes and is computed that way; what DAR changes is the precision the bit-serial
array spends, which the scheme measures on every operand matrix it sees (:attr:`HAPScheme.dar_stats`).

The channel widths need the layers' calibration inputs: :meth:`HAPScheme.prepare` (called by
:func:`golden.quant.quantize_model` after calibration) runs the calibration split once through the
float network, accumulates each layer's input Gram matrix, selects the 8-bit channels and
re-quantizes the layer's weights. Until then every channel is 8-bit.
"""

from __future__ import annotations

import copy
import numbers
import random

import torch
import torch.nn.functional as F

from golden.quant import EmulatedConv2d, UniformScheme, WeightQ, emulated_layers

from .dar import MODES, average_precision, dar
from .weights import (
    average_bits,
    channel_sensitivity,
    eight_bit_count,
    fraction_for_average,
    gram,
    quantize_channels,
    select_channels,
)

__all__ = ["HAPScheme", "SELECTIONS", "baseline", "BASELINES", "SCHEMES"]

#: How the 8-bit channels are chosen: by the sensitivity criterion, or at random (the control).
SELECTIONS = ("sensitivity", "random")


class HAPScheme(UniformScheme):
    """HAP: W dual precision (``weight_bits`` average, 4..8; 4.6 and 5.6 in the poster) / A 8-bit
    asymmetric with DAR in groups of ``group_size`` (``mode`` ``"intra"`` or ``"inter"``).

    ``selection="random"`` picks the 8-bit channels of each layer at random (``random.Random(seed)``,
    layers in network order) instead of by sensitivity: the control of the criterion.
    ``channel_bits`` (layer name -> int64 ``[O]`` of 4/8) imposes the widths instead of choosing them.
    """

    def __init__(self, weight_bits: float = 4.6, group_size: int = 16, mode: str = "intra",
                 selection: str = "sensitivity", seed: int = 0, channel_bits: dict | None = None):
        self.fraction = fraction_for_average(weight_bits)
        if isinstance(group_size, bool) or not isinstance(group_size, numbers.Integral):
            raise TypeError(f"group_size must be an int, got {group_size!r}")
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {', '.join(SELECTIONS)}, got {selection!r}")
        super().__init__(wbits=8, abits=8, asymmetric=True, name="hap")
        self.weight_bits = float(weight_bits)
        self.group_size, self.mode, self.selection, self.seed = int(group_size), mode, selection, int(seed)
        self.given_bits = dict(channel_bits) if channel_bits is not None else None
        self.channel_bits: dict[str, torch.Tensor] = {}
        self.layer_inputs: dict[str, int] = {}  # layer -> K (weights per channel)
        self.reset_dar_stats()

    @property
    def label(self) -> str:
        extra = "" if self.selection == "sensitivity" else f",{self.selection},seed={self.seed}"
        return f"hap[W{self.weight_bits:g},G={self.group_size},{self.mode}{extra}]"

    def config(self) -> dict:
        out = {**super().config(), "weight_bits": self.weight_bits, "fraction_8bit": self.fraction,
               "group_size": self.group_size, "mode": self.mode, "selection": self.selection}
        if self.selection == "random":
            out["seed"] = self.seed
        if self.channel_bits:
            out["measured_weight_bits"] = self.measured_weight_bits()
        return out

    # ----------------------------------------------------------------------------------------------
    # weights

    def quantize_weight(self, w2d: torch.Tensor) -> WeightQ:
        """Every channel 8-bit: the widths are chosen in :meth:`prepare`, with calibration inputs."""
        return quantize_channels(w2d, 8)

    def prepare(self, qmodel, calibrate) -> None:
        layers = emulated_layers(qmodel)
        grams = {} if self.given_bits is not None or self.selection == "random" else _input_grams(qmodel, layers, calibrate)
        rng = random.Random(self.seed)
        for name, layer in layers.items():
            w2d = layer.float_layer.weight.detach().reshape(layer.float_layer.weight.shape[0], -1).float()
            if self.given_bits is not None:
                bits = self.given_bits[name]
            elif self.selection == "random":
                bits = torch.full((w2d.shape[0],), 4, dtype=torch.int64)
                bits[rng.sample(range(w2d.shape[0]), eight_bit_count(w2d.shape[0], self.fraction))] = 8
            else:
                bits = select_channels(channel_sensitivity(w2d, grams[name]), self.fraction)
            wq = quantize_channels(w2d, bits)
            layer.w_codes, layer.w_scale, layer.w_rowsum = wq.codes, wq.scale, wq.codes.sum(1)
            self.channel_bits[name] = bits
            self.layer_inputs[name] = w2d.shape[1]
        self.reset_dar_stats()

    def measured_weight_bits(self) -> float:
        """Average weight width over every weight of the prepared network."""
        return average_bits((self.channel_bits[n], self.layer_inputs[n]) for n in self.channel_bits)

    # ----------------------------------------------------------------------------------------------
    # activations: exact integer accumulation, DAR precision measured

    def reset_dar_stats(self) -> None:
        #: Sums over every operand matrix seen: precision x values, values, precision x MACs, MACs.
        self.dar_stats = {"precision_values": 0.0, "values": 0, "precision_macs": 0.0, "macs": 0}

    def int_dot(self, a_codes: torch.Tensor, w_codes: torch.Tensor) -> torch.Tensor:
        groups = dar(a_codes.T.contiguous(), group_size=self.group_size, mode=self.mode)
        mean = average_precision(groups)
        values, outputs = groups.values, w_codes.shape[0]
        self.dar_stats["precision_values"] += mean * values
        self.dar_stats["values"] += values
        self.dar_stats["precision_macs"] += mean * values * outputs
        self.dar_stats["macs"] += values * outputs
        return super().int_dot(a_codes, w_codes)

    def average_activation_precision(self) -> dict:
        """DAR's mean precision over the values (and over the MACs) of every operand matrix seen
        since :meth:`prepare`."""
        s = self.dar_stats
        if not s["values"]:
            raise RuntimeError("no operand matrix seen yet")
        return {"per_value": s["precision_values"] / s["values"], "per_mac": s["precision_macs"] / s["macs"]}


def _input_grams(qmodel, layers: dict, calibrate) -> dict[str, torch.Tensor]:
    """Each layer's input Gram matrix ``X^T X`` on the calibration split of the float network (every
    emulated layer computes in float while it runs; its statistics are kept as they were)."""
    grams: dict[str, torch.Tensor] = {}
    saved = {name: (layer.mode, copy.deepcopy(layer.stats)) for name, layer in layers.items()}

    def hook(name, layer):
        def collect(module, args):
            x = args[0].detach().float()
            if isinstance(layer, EmulatedConv2d):
                conv = layer.float_layer
                cols = F.unfold(x, conv.kernel_size, dilation=conv.dilation, padding=conv.padding, stride=conv.stride)
                x2d = cols.transpose(1, 2).reshape(-1, cols.shape[1])
            else:
                x2d = x.reshape(-1, layer.float_layer.in_features)
            g = gram(x2d)
            grams[name] = g if name not in grams else grams[name] + g
        return collect

    handles = [layer.register_forward_pre_hook(hook(name, layer)) for name, layer in layers.items()]
    try:
        for layer in layers.values():
            layer.mode = "calibrate"
        with torch.no_grad():
            calibrate(qmodel)
    finally:
        for h in handles:
            h.remove()
        for name, layer in layers.items():
            layer.mode, layer.stats = saved[name]
    return grams


def baseline(wbits: int, abits: int) -> UniformScheme:
    """The uniform baseline ``wbits/abits``: weights symmetric per channel, activations asymmetric per
    tensor (HAP's activation quantizer), round to nearest."""
    return UniformScheme(wbits, abits, asymmetric=True)


#: The uniform rows of the poster's table, ``"W/A"`` -> (wbits, abits).
BASELINES = {"8/8": (8, 8), "4/8": (4, 8), "8/4": (8, 4), "5/5": (5, 5)}

#: The schemes this module contributes (``golden.hap.SCHEMES``, wired by the project lead).
SCHEMES = {"hap": HAPScheme}
