"""HAP at ISO compute: several HAP arrays side by side, each timed by the exact array model.

One HAP array (``rows`` x ``cols`` PEs of 1 activation bit x 4-bit weight, ``cols`` = the DAR group
size) runs a layer as tiles, a row tile of output channels times one column group, whose cycles
:func:`golden.hap.cycles.tile_cycles` gives exactly (the count the ``hap_array`` RTL matches). At ISO
compute the budget buys ``arrays`` such arrays (:mod:`golden.perf.iso`: 32 of 16 x 16). They share no
state, so the layer's tiles are dealt to them statically, in the single array's issue order (row
tiles outer, column groups inner), tile ``t`` to array ``t mod arrays``; the layer takes as long as
the busiest array. With ``arrays=1`` this is :func:`golden.hap.cycles.layer_cycles`.
"""

from __future__ import annotations

import torch

from golden.hap.cycles import row_tiles, tile_cycles
from golden.hap.dar import DarGroups

__all__ = ["ROWS", "COLS", "ARRAYS", "tile_costs", "layer_cycles"]

ROWS, COLS, ARRAYS = 16, 16, 32


def tile_costs(groups: DarGroups, weight_bits, *, rows: int = ROWS, cols: int = COLS) -> torch.Tensor:
    """Cycles of every tile, int64, in the single array's issue order."""
    if not isinstance(groups, DarGroups) or groups.mode != "intra" or groups.group_size != cols:
        raise ValueError(f"groups must be intra-channel DAR groups of size cols ({cols})")
    bits = [int(b) for b in weight_bits]
    columns = groups.precision.shape[1]
    cache: dict[tuple[int, int], int] = {}
    costs = []
    for channels in row_tiles(bits, rows=rows):
        n8 = sum(1 for o in channels if bits[o] == 8)
        for j in range(columns):
            if (j, n8) not in cache:
                cache[(j, n8)] = tile_cycles(groups.precision[:, j], channels_8bit=n8, rows=rows)
            costs.append(cache[(j, n8)])
    return torch.tensor(costs, dtype=torch.int64)


def layer_cycles(groups: DarGroups, weight_bits, *, rows: int = ROWS, cols: int = COLS, arrays: int = ARRAYS) -> int:
    """Cycles of a layer on ``arrays`` HAP arrays of ``rows`` x ``cols``: the busiest array's sum."""
    if isinstance(arrays, bool) or not isinstance(arrays, int) or arrays < 1:
        raise ValueError(f"arrays must be a positive int, got {arrays!r}")
    costs = tile_costs(groups, weight_bits, rows=rows, cols=cols)
    per_array = torch.zeros(arrays, dtype=torch.int64)
    per_array.scatter_add_(0, torch.arange(costs.numel()) % arrays, costs)
    return int(per_array.max())
