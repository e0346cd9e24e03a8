"""HAP integer layer: what the ``hap_array`` RTL computes, exactly, from DAR groups and weight codes.

Weights are symmetric per-output-channel signed codes; each output channel is 4-bit (-8..7) or 8-bit
(-128..127). A layer with operand matrix ``Q`` ``[K, P]`` (codes, zero point ``z``) and weight codes
``W`` ``[O, K]`` computes ``Y[o, p] = sum_k W[o, k] * (Q[k, p] - z)``. With DAR, ``Q = b + r`` per
group, so::

    Y[o, p] = sum_k W[o, k] * r[k, p]  +  sum_k W[o, k] * (b[k, grp(p)] - z)

The first sum is the bit-serial array's work (``r`` has its group's precision); the second is the
zero-point term, one value per output channel and group of columns when the groups are intra-channel,
computed once and added to every column of the group (the reuse unit). The output is the exact int64
accumulator; requantization lies outside this design.
"""

from __future__ import annotations

import numbers

import torch

from .weights import quantize_channels
from .dar import ACT_MAX, DarGroups

__all__ = [
    "WEIGHT_BITS",
    "check_weights",
    "quantize_weights",
    "integer_layer",
    "integer_layer_reference",
]

#: The weight precisions of a channel.
WEIGHT_BITS = (4, 8)


def _weight_bits(weight_bits, channels: int) -> torch.Tensor:
    if isinstance(weight_bits, torch.Tensor):
        bits = weight_bits.to(torch.int64).reshape(-1)
    elif isinstance(weight_bits, (list, tuple)):
        if not all(isinstance(b, numbers.Integral) and not isinstance(b, bool) for b in weight_bits):
            raise TypeError(f"weight_bits must hold ints, got {weight_bits!r}")
        bits = torch.tensor([int(b) for b in weight_bits], dtype=torch.int64)
    else:
        raise TypeError(f"weight_bits must be a list of ints or a tensor, got {type(weight_bits).__name__}")
    if bits.numel() != channels:
        raise ValueError(f"weight_bits must give one width per output channel ({channels}), got {bits.numel()}")
    if not ((bits == 4) | (bits == 8)).all():
        raise ValueError(f"weight_bits must be 4 or 8 per channel, got {sorted(set(bits.tolist()))}")
    return bits


def check_weights(weights, weight_bits) -> torch.Tensor:
    """Validate weight codes ``[O, K]`` int64 against per-channel widths (4 or 8 bits); returns the
    widths as an int64 tensor ``[O]``."""
    if not isinstance(weights, torch.Tensor):
        raise TypeError(f"weights must be a torch.Tensor, got {type(weights).__name__}")
    if weights.dtype != torch.int64:
        raise TypeError(f"weights must be int64, got {weights.dtype}")
    if weights.dim() != 2 or weights.numel() == 0:
        raise ValueError(f"weights must be a non-empty [O, K] matrix, got shape {tuple(weights.shape)}")
    bits = _weight_bits(weight_bits, weights.shape[0])
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    bad = (weights < lo[:, None]) | (weights > hi[:, None])
    if bad.any():
        o = int(bad.any(dim=1).nonzero()[0])
        raise ValueError(f"weights of channel {o} must lie in {int(lo[o])}..{int(hi[o])} ({int(bits[o])} bits)")
    return bits


def quantize_weights(w: torch.Tensor, weight_bits) -> torch.Tensor:
    """Symmetric per-output-channel codes of a float weight ``[O, ...]`` (flattened to ``[O, K]``):
    ``clamp(round(w * (1/s)), -2^(b-1), 2^(b-1) - 1)`` in float32 with ``s = absmax / (2^(b-1) - 1)``
    (1.0 for an all-zero channel) and ``b`` the channel's width."""
    if not isinstance(w, torch.Tensor) or not w.is_floating_point():
        raise TypeError("w must be a floating-point torch.Tensor")
    w2d = w.reshape(w.shape[0], -1).float()
    return quantize_channels(w2d, _weight_bits(weight_bits, w2d.shape[0])).codes


def _operands(groups, weights, zero_point):
    if not isinstance(groups, DarGroups):
        raise TypeError(f"groups must be a DarGroups, got {type(groups).__name__}")
    if not isinstance(weights, torch.Tensor) or weights.dtype != torch.int64 or weights.dim() != 2:
        raise TypeError("weights must be an int64 [O, K] torch.Tensor")
    if weights.shape[1] != groups.codes.shape[0]:
        raise ValueError(f"weights have K = {weights.shape[1]}, the operand matrix K = {groups.codes.shape[0]}")
    if isinstance(zero_point, bool) or not isinstance(zero_point, numbers.Integral):
        raise TypeError(f"zero_point must be an int, got {zero_point!r}")
    if not 0 <= zero_point <= ACT_MAX:
        raise ValueError(f"zero_point must lie in 0..{ACT_MAX}, got {zero_point}")
    return int(zero_point)


def integer_layer(groups: DarGroups, weights: torch.Tensor, *, zero_point: int) -> torch.Tensor:
    """``Y`` int64 ``[O, P]``: the array's sum ``W @ r`` plus the zero-point term ``W @ (b - z)``
    (fast torch version; equal to ``W @ (Q - z)``)."""
    z = _operands(groups, weights, zero_point)
    return weights @ groups.residual + weights @ (groups.per_value(groups.base) - z)


def integer_layer_reference(groups: DarGroups, weights: torch.Tensor, *, zero_point: int) -> torch.Tensor:
    """The same in plain Python loops, as the hardware orders it for intra-channel groups: for every
    group of columns, the zero-point term of each channel once, then the residual products."""
    z = _operands(groups, weights, zero_point)
    k_dim, p_dim = groups.codes.shape
    w = weights.tolist()
    r = groups.residual.tolist()
    base = groups.per_value(groups.base).tolist()
    out = [[0] * p_dim for _ in w]
    g = groups.group_size if groups.mode == "intra" else 1
    for start in range(0, p_dim, g):
        cols = range(start, min(start + g, p_dim))
        for o, row in enumerate(w):
            # one base per row k within the group (intra) or a group of one column (inter)
            zero_term = sum(row[k] * (base[k][start] - z) for k in range(k_dim))
            for c in cols:
                out[o][c] = zero_term + sum(row[k] * r[k][c] for k in range(k_dim))
    return torch.tensor(out, dtype=torch.int64)
