"""A tiny conv + linear network and its calibration, shared by the scheme tests."""

import torch
from torch import nn

from golden import quant


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))


def calibrate(model) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        model(torch.randn(8, 2, 5, 5))


def outputs(scheme, x: torch.Tensor) -> torch.Tensor:
    """The tiny network quantized with ``scheme`` (calibrated as above), applied to ``x``."""
    model = quant.quantize_model(tiny_model(), scheme, calibrate)
    with torch.no_grad():
        return model(x)
