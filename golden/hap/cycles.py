"""HAP array cycle model: the exact cycle count of the ``hap_array`` RTL for a layer.

The array has ``rows`` x ``cols`` bit-serial PEs with ``cols`` equal to the DAR group size ``G``
(intra-channel groups). A *tile* is one column group ``j`` (the ``G`` columns of group ``j`` of every
row ``k``) times one *row tile* (the output channels held by the PE rows). A 4-bit channel takes one PE
row, an 8-bit channel two adjacent rows (high nibble, signed, then low nibble, unsigned), combined when
the tile drains. Row tiles are packed greedily in channel order (:func:`row_tiles`).

A tile is fed ``K`` *steps*, one per row ``k`` of the operand matrix: the weight column of the tile's
channels and the residual row of group ``(k, j)``, at that group's precision ``p_k``. Timing, with the
step source always valid and the output sink always ready (the RTL's contract, counted from the cycle
the first step is accepted):

* a step with ``p_k >= 1`` occupies the array for ``p_k`` cycles (one bit of every residual per
  cycle) starting the cycle after it is accepted; the next such step is accepted in the last of them;
* a step with ``p_k = 0`` needs no array cycle, only the zero-point unit, which takes one step per
  cycle: it is accepted in any cycle, also while the array works on an earlier step;
* after the tile's last step is accepted (cycle ``E``) and the array's last bit cycle (``F``), the
  tile drains from cycle ``max(E + 1, F) + 1``: one output row per channel (``rows - n8`` rows, ``n8``
  the tile's 8-bit channels), one per cycle; the next tile's first step is accepted in the cycle after.

:func:`step_order` is the order HAP's outer-product reordering issues steps in: the nonzero steps in
``k`` order, each followed by up to ``p_k - 1`` zero steps, which so take no cycle of their own; then
any zero steps left. In that order a tile takes exactly::

    tile_cycles = max(sum_k p_k, K) + 1 + (rows - n8)

cycles. :func:`load_cycles` gives the load part for any order (the recurrence above), so that the RTL
can be checked against orders it was not designed for too.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import torch

from .dar import DarGroups

__all__ = [
    "step_order",
    "load_cycles",
    "row_tiles",
    "drain_rows",
    "tile_cycles",
    "layer_cycles",
    "layer_tiles",
]


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _precisions(precisions) -> list[int]:
    out = [int(p) for p in (precisions.tolist() if isinstance(precisions, torch.Tensor) else precisions)]
    if not out:
        raise ValueError("a tile needs at least one step")
    if any(not 0 <= p <= 8 for p in out):
        raise ValueError(f"precisions must lie in 0..8, got {out}")
    return out


def step_order(precisions: Sequence[int]) -> list[int]:
    """The indices ``k`` of a tile's steps in issue order: each nonzero step followed by up to
    ``p_k - 1`` zero steps (in ``k`` order), then the zero steps left."""
    p = _precisions(precisions)
    zeros = [k for k, v in enumerate(p) if v == 0]
    order, z = [], 0
    for k, v in enumerate(p):
        if v:
            order.append(k)
            take = min(v - 1, len(zeros) - z)
            order += zeros[z:z + take]
            z += take
    return order + zeros[z:]


def load_cycles(precisions_in_order: Sequence[int]) -> int:
    """Cycles from the first step's acceptance to the first drain cycle, for steps issued in this
    order (the recurrence of the module docstring): ``max(E + 1, F) + 1``."""
    p = _precisions(precisions_in_order)
    accept, free, last_bit = -1, None, None  # free: first cycle a nonzero step may be accepted
    for v in p:
        accept = accept + 1 if v == 0 or free is None else max(accept + 1, free)
        if v:
            free = last_bit = accept + v
    return (accept + 1 if last_bit is None else max(accept + 1, last_bit)) + 1


def row_tiles(weight_bits, *, rows: int) -> list[list[int]]:
    """The output channels of each row tile: greedy in channel order, a 4-bit channel one PE row, an
    8-bit channel two (it starts a new tile when only one row is left)."""
    rows = _int("rows", rows, 2)
    bits = [int(b) for b in (weight_bits.tolist() if isinstance(weight_bits, torch.Tensor) else weight_bits)]
    if not bits:
        raise ValueError("weight_bits must name at least one channel")
    if any(b not in (4, 8) for b in bits):
        raise ValueError(f"weight_bits must be 4 or 8 per channel, got {sorted(set(bits))}")
    tiles, used = [[]], 0
    for o, b in enumerate(bits):
        need = 1 if b == 4 else 2
        if used + need > rows:
            tiles.append([])
            used = 0
        tiles[-1].append(o)
        used += need
    return tiles


def drain_rows(channels_8bit: int, *, rows: int) -> int:
    """Output rows a tile drains: one per channel slot, ``rows - n8`` (unused rows drain zeros)."""
    return rows - channels_8bit


def tile_cycles(precisions: Sequence[int], *, channels_8bit: int, rows: int) -> int:
    """Cycles of one tile in :func:`step_order`: ``max(sum p_k, K) + 1 + rows - n8``."""
    p = _precisions(precisions)
    rows = _int("rows", rows, 2)
    n8 = _int("channels_8bit", channels_8bit, 0)
    if 2 * n8 > rows:
        raise ValueError(f"channels_8bit must be <= rows // 2, got {n8} for {rows} rows")
    return max(sum(p), len(p)) + 1 + drain_rows(n8, rows=rows)


def _check_groups(groups, cols: int) -> None:
    if not isinstance(groups, DarGroups):
        raise TypeError(f"groups must be a DarGroups, got {type(groups).__name__}")
    if groups.mode != "intra":
        raise ValueError("the HAP array takes intra-channel groups (mode='intra')")
    if groups.group_size != cols:
        raise ValueError(f"the array's cols ({cols}) must equal the group size ({groups.group_size})")


def layer_tiles(groups: DarGroups, weight_bits, *, rows: int, cols: int) -> list[tuple[int, list[int], int]]:
    """Every tile of a layer in issue order (row tiles outer, column groups inner):
    ``(column group j, channels of the row tile, cycles)``."""
    cols = _int("cols", cols, 1)
    _check_groups(groups, cols)
    tiles = row_tiles(weight_bits, rows=rows)
    out = []
    for channels in tiles:
        n8 = sum(1 for o in channels if int(weight_bits[o]) == 8)
        for j in range(groups.precision.shape[1]):
            out.append((j, channels, tile_cycles(groups.precision[:, j], channels_8bit=n8, rows=rows)))
    return out


def layer_cycles(groups: DarGroups, weight_bits, *, rows: int, cols: int) -> int:
    """Cycles of the whole layer on a ``rows`` x ``cols`` array: the sum of its tiles' cycles (tiles
    run back to back; every column group for every row tile)."""
    cols = _int("cols", cols, 1)
    _check_groups(groups, cols)
    tiles = row_tiles(weight_bits, rows=rows)
    k = groups.precision.shape[0]
    loads = int(torch.clamp(groups.precision.sum(dim=0), min=k).sum()) + groups.precision.shape[1]
    total = 0
    for channels in tiles:
        n8 = sum(1 for o in channels if int(weight_bits[o]) == 8)
        total += loads + groups.precision.shape[1] * drain_rows(n8, rows=rows)
    return total
