"""BitWave cycle model: bit-column-serial weights that skip the all-zero bit columns of a weight group.

BitWave ("BitWave: Exploiting Column-Based Bit-Level Sparsity for Deep Learning Acceleration",
M. Shi, V. Jain, A. Joseph, M. Meijer, M. Verhelst; HPCA 2024) stores weights in sign-magnitude and
splits them into groups of ``group`` weights of one output channel along the reduction dimension.
A *bit column* of a group is one magnitude bit of all its weights; a column whose bits are all zero
contributes nothing and is skipped. A processing element takes one nonzero bit column per cycle and
the ``group`` bit-parallel activations it multiplies (the weights' signs come with the column), adds
the selected activations and accumulates the sum shifted by the column's significance.

No public simulator of BitWave exists; this model is derived from those published principles:

- a PE holds one group of ``group`` weights (8) against ``group`` 8-bit activations, so it computes
  ``group * 8`` bit products a cycle (64: one 8-bit multiplier equivalent; 512 PEs at ISO compute);
- the PEs form ``channels`` (output channels) x ``positions`` (output positions); a step feeds every
  PE the same group index, the weights of its channel and the activations of its position, and the
  step lasts as many cycles as the largest count of nonzero bit columns among the ``channels``
  channels of the step (the PEs run in lockstep; weight columns are known offline, so a step whose
  groups are all zero is not issued);
- the count does not depend on the activations.

For ``Y [O, P] = W [O, K] A [K, P]`` with ``n(o, g)`` the nonzero magnitude bit columns of group ``g``
of channel ``o``::

    cycles = ceil(P / positions) * sum over channel tiles c and groups g of max_{o in c} n(o, g)

Assumptions: the weights are HAP's dual-precision codes (a 4-bit channel has at most 4 magnitude
columns, an 8-bit one 8, with -128 needing the eighth); BitWave's bit-flip retraining, which zeroes
more columns at some accuracy cost, is not applied; no memory stalls, fill or drain cycles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .stripes import _ceil

__all__ = ["GROUP", "CHANNELS", "POSITIONS", "column_counts", "layer_cycles"]

GROUP, CHANNELS, POSITIONS = 8, 16, 32


def _weights(codes) -> torch.Tensor:
    if not isinstance(codes, torch.Tensor) or codes.dtype != torch.int64 or codes.dim() != 2 or codes.numel() == 0:
        raise TypeError("weights must be a non-empty int64 [O, K] tensor")
    if int(codes.abs().max()) > 128:
        raise ValueError("weight codes must lie in -128..127")
    return codes


def column_counts(codes: torch.Tensor, *, group: int = GROUP) -> torch.Tensor:
    """Nonzero magnitude bit columns of every weight group: int64 ``[O, ceil(K / group)]``."""
    codes = _weights(codes)
    o, k = codes.shape
    mag = F.pad(codes.abs(), (0, _ceil(k, group) * group - k)).reshape(o, -1, group)
    counts = torch.zeros(mag.shape[:2], dtype=torch.int64)
    for bit in range(8):
        counts += ((mag >> bit) & 1).amax(dim=2)
    return counts


def layer_cycles(codes: torch.Tensor, positions: int, *, group: int = GROUP, channels: int = CHANNELS,
                 positions_per_step: int = POSITIONS) -> int:
    """Cycles of a layer with weight codes ``[O, K]`` computing ``positions`` output positions."""
    counts = column_counts(codes, group=group)
    o = counts.shape[0]
    counts = F.pad(counts, (0, 0, 0, _ceil(o, channels) * channels - o)).reshape(-1, channels, counts.shape[1])
    return _ceil(positions, positions_per_step) * int(counts.amax(dim=1).sum())
