"""Stripes cycle model: bit-serial activations at one precision per layer.

Stripes ("Stripes: Bit-Serial Deep Neural Network Computing", P. Judd, J. Albericio, T. Hetherington,
T. Aamodt, A. Moshovos; MICRO 2016) multiplies ``p``-bit activations bit-serially, one bit per cycle,
by bit-parallel weights; ``p`` is fixed per layer (profiled offline). Its tile, as in the Toronto
group's simulator DNNsim, is a grid of serial inner-product units (SIPs): ``filters`` rows (output
channels) x ``windows`` columns (output positions), each SIP ``lanes`` wide (a *brick* of ``lanes``
consecutive input values ``k``). Every step the tile takes one brick of every window and the same
brick index of every filter's weights, and spends ``p`` cycles on it, whatever the values are.

For the product ``Y [O, P] = W [O, K] A [K, P]`` of a layer::

    cycles = ceil(O / filters) * ceil(P / windows) * ceil(K / lanes) * p

Assumptions: the activations are the layer's 8-bit symmetric codes (signed); ``p`` is the smallest
width that holds every code of the layer on the data given (unsigned when no code is negative,
two's complement otherwise), i.e. the most favourable per-layer profile for these inputs; weights are
8-bit in every lane; memory never stalls the tile; no pipeline fill or drain cycles are counted.
"""

from __future__ import annotations

import torch

__all__ = ["FILTERS", "WINDOWS", "LANES", "layer_precision", "layer_cycles"]

FILTERS, WINDOWS, LANES = 16, 16, 16


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _signed(codes) -> torch.Tensor:
    if not isinstance(codes, torch.Tensor) or codes.dtype != torch.int64 or codes.dim() != 2 or codes.numel() == 0:
        raise TypeError("activations must be a non-empty int64 [K, P] tensor")
    return codes


def layer_precision(codes: torch.Tensor) -> int:
    """Bits per activation of the layer: ``bit_length(max)`` when no code is negative, else the
    two's-complement width of the codes' range (at least 1)."""
    codes = _signed(codes)
    lo, hi = int(codes.min()), int(codes.max())
    if lo >= 0:
        return max(1, hi.bit_length())
    return max(hi.bit_length(), (-lo - 1).bit_length()) + 1


def layer_cycles(codes: torch.Tensor, out_channels: int, *, precision: int | None = None,
                 filters: int = FILTERS, windows: int = WINDOWS, lanes: int = LANES) -> int:
    """Cycles of a layer whose activations (operand matrix ``[K, P]``) are ``codes`` and which has
    ``out_channels`` outputs, at ``precision`` bits (default :func:`layer_precision`)."""
    codes = _signed(codes)
    k, p = codes.shape
    if precision is None:
        precision = layer_precision(codes)
    return _ceil(out_channels, filters) * _ceil(p, windows) * _ceil(k, lanes) * int(precision)
