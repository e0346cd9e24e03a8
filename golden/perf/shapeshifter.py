"""ShapeShifter cycle model: bit-serial activations at a precision per group of values, found at run
time from the group's magnitudes.

ShapeShifter ("ShapeShifter: Enabling Fine-Grain Data Width Adaptation in Deep Learning", A. Delmas
Lascorz, S. Sharify, I. Edo, D. M. Stuart, O. M. Awad, P. Judd, M. Mahmoud, M. Nikolic, K. Siu,
Z. Poulos, A. Moshovos; MICRO 2019) keeps Stripes' tile (``filters`` x ``windows`` serial
inner-product units, each ``lanes`` wide, see :mod:`golden.perf.stripes`) but detects, for every
brick of ``lanes`` activations, the bits the brick really needs: in sign-magnitude, the position of
its highest leading one plus one, plus one more when a value is negative. We follow the accounting
of the Toronto group's simulator DNNsim: a value ``a`` needs ``bit_length(|a|) + (a < 0)`` bits, a
brick the maximum over its values, and at least one cycle (an all-zero brick costs one).

All windows of the tile take the same step together (DNNsim's configuration without run-ahead
column registers), so a step costs the largest brick precision among the tile's windows; the
weights do not change the count. ``runahead=True`` gives the other extreme, unlimited run-ahead
registers: each window of a tile runs through its bricks on its own and the tile waits only for its
slowest window's total. For ``Y [O, P] = W [O, K] A [K, P]``::

    cycles = ceil(O / filters) * sum over window tiles w and bricks b of max_{p in w} prec(b, p)

Assumptions: the activations are the layer's 8-bit symmetric codes (ShapeShifter is symmetric, as
the HAP poster stresses); weights 8-bit in every lane; no memory stalls, no fill or drain cycles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .stripes import FILTERS, LANES, WINDOWS, _ceil, _signed

__all__ = ["value_width", "brick_precisions", "layer_cycles"]


def value_width(codes: torch.Tensor) -> torch.Tensor:
    """Sign-magnitude bits of every value: ``bit_length(|a|) + (a < 0)`` (0 for 0)."""
    mag = codes.abs()
    width = torch.zeros_like(mag)
    for i in range(int(mag.max()).bit_length() if mag.numel() else 0):
        width += (mag >= (1 << i)).to(torch.int64)
    return width + (codes < 0).to(torch.int64)


def brick_precisions(codes: torch.Tensor, *, lanes: int = LANES) -> torch.Tensor:
    """Cycles of every brick: int64 ``[ceil(K / lanes), P]``, brick ``b`` of column ``p`` holding
    rows ``[b*lanes, (b+1)*lanes)`` (the last brick may be shorter); at least 1."""
    codes = _signed(codes)
    k, p = codes.shape
    width = value_width(codes)
    pad = _ceil(k, lanes) * lanes - k
    width = F.pad(width, (0, 0, 0, pad)).reshape(-1, lanes, p)
    return width.amax(dim=1).clamp(min=1)


def layer_cycles(codes: torch.Tensor, out_channels: int, *, filters: int = FILTERS, windows: int = WINDOWS,
                 lanes: int = LANES, runahead: bool = False) -> int:
    """Cycles of a layer with activations ``codes`` (``[K, P]``) and ``out_channels`` outputs.

    ``runahead=True`` is the optimistic bound of unlimited run-ahead registers: every window of a
    tile goes through its bricks on its own, and the tile lasts as long as its slowest window's sum."""
    bricks = brick_precisions(codes, lanes=lanes)
    p = bricks.shape[1]
    pad = _ceil(p, windows) * windows - p
    tiles = F.pad(bricks, (0, pad)).reshape(bricks.shape[0], -1, windows)
    if runahead:
        return _ceil(out_channels, filters) * int(tiles.sum(dim=0).amax(dim=1).sum())
    return _ceil(out_channels, filters) * int(tiles.amax(dim=2).sum())
