"""Real layer operands of a network for the HAP studies: every quantized layer's weights and its
input activations on the calibration split, as the operand matrices the accelerators compute on.

For every ``nn.Linear`` / ``nn.Conv2d`` of the FP32 network (the layers :func:`golden.quant.quantize_model`
quantizes), forward hooks record the layer's float input while the calibration split runs through
the float network. The inputs are then quantized per tensor from their own min/max, which is what
the calibration of the schemes computes on the same split:

- ``codes``: HAP's 8-bit asymmetric codes (:mod:`golden.hap.dar`), as the operand matrix ``Q [K, P]``
  (im2col for a convolution, padding = the zero point);
- ``signed``: 8-bit symmetric codes (``scale = absmax / 127``, codes -128..127, padding 0), the
  operand matrix ``[K, P]`` of a symmetric accelerator (Stripes, ShapeShifter, BitWave) on the same
  inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from golden.quant import im2col

from .dar import calibrate_activations, operand_matrix, quantize_activations

__all__ = ["LayerOperands", "capture_operands", "symmetric_codes"]


@dataclass(frozen=True)
class LayerOperands:
    """One layer: ``weight`` float32 ``[O, K]``; ``codes`` (0..255) and ``signed`` (-128..127) int64
    ``[K, P]``; ``scale``/``zero_point`` of ``codes``, ``signed_scale`` of ``signed``; ``kernel``,
    ``stride``, ``padding`` pairs (None for a linear layer)."""

    name: str
    weight: torch.Tensor
    codes: torch.Tensor
    signed: torch.Tensor
    scale: float
    zero_point: int
    signed_scale: float
    kernel: tuple | None = None
    stride: tuple | None = None
    padding: tuple | None = None

    @property
    def shape(self) -> dict:
        """``O``, ``K``, ``P`` of the layer's product ``Y [O, P] = W [O, K] Q [K, P]``."""
        return {"O": self.weight.shape[0], "K": self.codes.shape[0], "P": self.codes.shape[1]}


def symmetric_codes(x: torch.Tensor, absmax: float) -> tuple[torch.Tensor, float]:
    """8-bit symmetric codes int64 of ``x`` and their float32 scale ``absmax / 127`` (1.0 when 0)."""
    scale = float(torch.tensor(absmax / 127 if absmax > 0 else 1.0, dtype=torch.float32))
    inv = (1.0 / torch.tensor(scale, dtype=torch.float32)).float()
    return torch.round(x.float() * inv).clamp(-128, 127).to(torch.int64), scale


def capture_operands(model: nn.Module, run) -> list[LayerOperands]:
    """The operands of every Linear/Conv2d of ``model`` (in module order) on the inputs that
    ``run(model)`` feeds it (e.g. ``network.calibrate``)."""
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    inputs: dict[str, list[torch.Tensor]] = {name: [] for name, _ in layers}

    def hook(name):
        def record(module, args):
            inputs[name].append(args[0].detach().float().clone())
        return record

    handles = [m.register_forward_pre_hook(hook(n)) for n, m in layers]
    try:
        with torch.no_grad():
            run(model)
    finally:
        for h in handles:
            h.remove()
    out = []
    for name, module in layers:
        xs = inputs.pop(name)
        if not xs:
            continue
        flat = torch.cat([x.reshape(-1) for x in xs])
        scale, zero = calibrate_activations(flat)
        absmax = float(flat.abs().max())
        weight = module.weight.detach().reshape(module.weight.shape[0], -1).float()
        if isinstance(module, nn.Conv2d):
            conv = dict(kernel=tuple(module.kernel_size), stride=tuple(module.stride), padding=tuple(module.padding))
            codes = torch.cat([operand_matrix(quantize_activations(x, scale=scale, zero_point=zero),
                                              zero_point=zero, **conv) for x in xs], dim=1)
            signed_parts = []
            for x in xs:
                s, signed_scale = symmetric_codes(x, absmax)
                rows, _ = im2col(s, conv["kernel"], conv["stride"], conv["padding"], (1, 1), 0)
                signed_parts.append(rows.T)
            signed = torch.cat(signed_parts, dim=1).contiguous()
        else:
            conv = {}
            codes = torch.cat([operand_matrix(quantize_activations(x, scale=scale, zero_point=zero)) for x in xs], dim=1)
            signed_parts, signed_scale = [], 1.0
            for x in xs:
                s, signed_scale = symmetric_codes(x.reshape(-1, x.shape[-1]), absmax)
                signed_parts.append(s.T)
            signed = torch.cat(signed_parts, dim=1).contiguous()
        out.append(LayerOperands(name, weight, codes, signed, scale, zero, signed_scale, **conv))
    return out
