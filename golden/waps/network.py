"""``digits_cnn`` as WAPS sees it: its quantized layers, how their tensors connect, and a copy of the
network whose layers can run as exported integer :class:`~golden.waps.layer.WapsLayer`.

Every ``Conv2d``/``Linear`` of the batch-norm-folded network is replaced by a :class:`TapLayer`. A tap
computes in float (and may record its input) until it is given a ``WapsLayer``; then it quantizes its
input to unsigned ``a_bits`` codes with its input scale ``s_x``, reads its channels in ``in_order``
(group order, see :func:`golden.waps.calibrate.export_grouped`), runs the exact integer layer
(:func:`golden.waps.layer.forward`) and returns the output codes times ``s_out``. What lies between
layers (the residual additions, the ReLU after them, the average pool) stays float32: it only moves
codes from one layer to the next, and where a ReLU layer feeds the next layer directly its output
codes are exactly the next layer's input codes (``s_out`` of the one is ``s_x`` of the other).

Layer table (:data:`LAYERS`): ``relu`` says whether the layer's own output goes through a ReLU (the
second conv of a residual block does not: the skip is added first; neither does ``fc``); ``FEEDS``
says which layer reads a ReLU layer's output directly. ``STREAMS`` lists, for the channel
permutation, the tensors whose channel order is shared: the layers producing it (output channels)
and the layers reading it (input channels). A residual block ties the stream: the block's input is
both read by its first conv and added to its second conv's output, which ``down`` (or ``fc``) reads.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .layer import WapsLayer, forward

__all__ = ["LAYERS", "RELU", "FEEDS", "STREAMS", "TapLayer", "tapped", "taps", "act_codes", "act_scale"]

LAYERS = ("stem.conv", "block1.a.conv", "block1.b.conv", "down.conv", "block2.a.conv", "block2.b.conv", "fc")
RELU = {"stem.conv": True, "block1.a.conv": True, "block1.b.conv": False, "down.conv": True,
        "block2.a.conv": True, "block2.b.conv": False, "fc": False}
FEEDS = {"stem.conv": "block1.a.conv", "block1.a.conv": "block1.b.conv", "down.conv": "block2.a.conv",
         "block2.a.conv": "block2.b.conv"}
#: (producers, consumers) of every permutable tensor, the consumer whose groups decide the order first.
STREAMS = (
    (("stem.conv", "block1.b.conv"), ("block1.a.conv", "down.conv")),
    (("block1.a.conv",), ("block1.b.conv",)),
    (("down.conv", "block2.b.conv"), ("block2.a.conv", "fc")),
    (("block2.a.conv",), ("block2.b.conv",)),
)


def act_codes(x: torch.Tensor, scale: float, bits: int) -> torch.Tensor:
    """Unsigned ``bits`` codes of ``x`` (zero point 0): ``clamp(round(x / scale), 0, 2^bits - 1)``
    (``torch.round``, half to even, in float64), int64."""
    return torch.round(x.double() / scale).clamp(0, 2**bits - 1).to(torch.int64)


def act_scale(x: torch.Tensor, bits: int, steps: int = 50) -> float:
    """The scale of unsigned ``bits`` codes for the non-negative tensor ``x``: the clipping range
    ``r * max(x)``, ``r`` in ``1/steps .. 1`` (``steps`` values), with the least squared error of
    ``codes * scale`` against ``x`` (the larger ``r`` on a tie)."""
    x = x.detach().double().flatten()
    top = float(x.max())
    if top <= 0:
        return 1.0
    best, best_err = top / (2**bits - 1), float("inf")
    for i in range(steps, 0, -1):
        scale = top * i / steps / (2**bits - 1)
        err = float(((act_codes(x, scale, bits).double() * scale - x) ** 2).sum())
        if err < best_err:
            best, best_err = scale, err
    return best


class TapLayer(nn.Module):
    """A quantized layer's place in the network: float until :attr:`waps` is set (see the module
    docstring). ``record``, when a list, receives every input (float) as it arrives."""

    def __init__(self, layer: nn.Module, name: str):
        super().__init__()
        self.layer = layer
        self.name = name
        self.waps: WapsLayer | None = None
        self.s_x: float | None = None
        self.s_out: float | None = None
        self.in_order: torch.Tensor | None = None
        self.record: list | None = None

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The input codes this layer computes on (needs :attr:`waps` and :attr:`s_x`), its input
        channels in :attr:`in_order` (the order the integer layer reads them) when set."""
        codes = act_codes(x, self.s_x, self.waps.a_bits)
        return codes if self.in_order is None else codes[:, self.in_order].contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.record is not None:
            self.record.append(x.detach())
        if self.waps is None:
            return self.layer(x)
        y = forward(self.waps, self.codes(x))
        return (y.double() * self.s_out).float()


def tapped(model: nn.Module) -> nn.Module:
    """A copy of the (batch-norm-folded) ``digits_cnn`` with a :class:`TapLayer` in place of every
    layer of :data:`LAYERS`."""
    model = copy.deepcopy(model).eval()
    for name in LAYERS:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, TapLayer(getattr(parent, child), name))
    return model


def taps(model: nn.Module) -> dict[str, TapLayer]:
    """The taps of a :func:`tapped` model by layer name."""
    return {m.name: m for m in model.modules() if isinstance(m, TapLayer)}


def record_inputs(model: nn.Module, name: str, images: torch.Tensor) -> torch.Tensor:
    """The float input of layer ``name`` when ``images`` go through the tapped ``model``."""
    tap = taps(model)[name]
    tap.record = []
    try:
        with torch.no_grad():
            model(images)
        return torch.cat(tap.record)
    finally:
        tap.record = None
