"""What the HAP array benches feed and expect: a layer's tiles as step payloads (from the golden
DAR groups and weight codes) and the output rows of ``golden.hap.layer`` in the array's order.

A tile is a row tile of ``golden.hap.cycles.row_tiles`` times one column group ``j``. Its PE rows hold
its channels in order: a 4-bit channel one row (its two's complement nibble), an 8-bit channel two
(``W >> 4``, then ``W & 15`` with its ``low`` bit); unused rows hold 0. It drains one row per channel
slot (``rows - n8``): a channel's ``cols`` values ``Y[o, j*G + c]``; an unused column (short last
group) shows the channel's zero-point term alone (its residual is 0), an unused row all zeros.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from golden.hap.cycles import layer_cycles, load_cycles, row_tiles, step_order
from golden.hap.dar import DarGroups
from golden.hap.layer import check_weights, integer_layer

__all__ = ["Program", "layer_program", "wrap"]


def wrap(value: int, bits: int) -> int:
    """``value`` modulo ``2^bits`` as a signed integer."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


@dataclass
class Program:
    """The steps of a layer (payload dicts of ``step_layout``), the expected output rows
    ``(values, last)`` and the cycle count the model predicts when nothing stalls."""

    steps: list[dict]
    expected: list[tuple[list[int], int]]
    cycles: int
    tiles: int


def layer_program(groups: DarGroups, weights: torch.Tensor, weight_bits, zero_point: int, *, rows: int, cols: int,
                  acc_bits: int, order: str = "hap", seed: int = 0) -> Program:
    """The program of a layer. ``order``: ``"hap"`` (``golden.hap.cycles.step_order``), ``"k"`` (rows
    ``k`` in order) or ``"random"`` (shuffled with ``seed``); the cycle count follows the order
    (``load_cycles``), and for ``"hap"`` it is checked equal to ``layer_cycles``."""
    bits = check_weights(weights, weight_bits).tolist()
    y = integer_layer(groups, weights, zero_point=zero_point)
    zero_terms = weights @ (groups.per_value(groups.base) - zero_point)  # [O, P]: the term of each column
    k_dim, p_dim = groups.codes.shape
    n_groups = groups.precision.shape[1]
    rng = random.Random(seed)
    steps, expected, cycles, tiles = [], [], 0, 0
    for channels in row_tiles(bits, rows=rows):
        digits = [[0] * rows for _ in range(k_dim)]
        low, slots, slot = 0, [], 0
        for o in channels:
            column = weights[o].tolist()
            if bits[o] == 4:
                for k in range(k_dim):
                    digits[k][slot] = column[k] & 15
                slots.append(o)
                slot += 1
            else:
                for k in range(k_dim):
                    digits[k][slot] = (column[k] >> 4) & 15
                    digits[k][slot + 1] = column[k] & 15
                low |= 1 << (slot + 1)
                slots.append(o)
                slot += 2
        n8 = sum(1 for o in channels if bits[o] == 8)
        slots += [None] * (rows - slot)
        for j in range(n_groups):
            lo, hi = j * cols, min((j + 1) * cols, p_dim)
            precisions = groups.precision[:, j].tolist()
            if order == "hap":
                ks = step_order(precisions)
            elif order == "k":
                ks = list(range(k_dim))
            else:
                ks = list(range(k_dim))
                rng.shuffle(ks)
            for n, k in enumerate(ks):
                residuals = groups.residual[k, lo:hi].tolist() + [0] * (cols - (hi - lo))
                steps.append({
                    "weights": digits[k], "low": low, "residuals": residuals, "precision": precisions[k],
                    "base": int(groups.base[k, j]) - zero_point, "last": int(n == len(ks) - 1),
                })
            cycles += load_cycles([precisions[k] for k in ks]) + rows - n8
            tiles += 1
            for n, o in enumerate(slots):
                if o is None:
                    values = [0] * cols
                else:
                    values = y[o, lo:hi].tolist() + [int(zero_terms[o, lo])] * (cols - (hi - lo))
                expected.append(([wrap(v, acc_bits) for v in values], int(n == len(slots) - 1)))
    if order == "hap":
        assert cycles == layer_cycles(groups, bits, rows=rows, cols=cols)
    return Program(steps, expected, cycles, tiles)
