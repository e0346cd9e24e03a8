"""What the HAP array benches feed and expect: a layer's tiles as step payloads (from the golden
DAR groups and weight codes) and the output rows of ``golden.hap.layer`` in the array's order.

A tile is a row tile of ``golden.hap.cycles.row_tiles`` times one column group ``j``. Its PE rows hold
its channels in order: a 4-bit channel one row (its two's complement nibble), an 8-bit channel two
(``W >> 4``, then ``W & 15`` with its ``low`` bit); unused rows hold 0. It drains one row per channel
slot (``rows - n8``): a channel's ``cols`` values ``Y[o, j*G + c]``; an unused column (short last
group) shows the channel's zero-point term alone (its residual is 0), an unused row all zeros.
"""

from __future__ import annotations

import fcntl
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from golden.hap.cycles import layer_cycles, load_cycles, row_tiles, step_order
from golden.hap.dar import DarGroups, calibrate_activations, operand_matrix, quantize_activations
from golden.hap.layer import check_weights, integer_layer, quantize_weights

__all__ = ["Program", "layer_program", "wrap", "RealLayer", "real_layer", "REAL_LAYER"]

EXPORT = Path(__file__).resolve().parents[2] / "build" / "sim" / "export"

#: The real layer of the default run: digits_cnn's first residual-block convolution (16 -> 16
#: channels, 3 x 3, padding 1: K = 144, P = 64 per 8 x 8 image).
REAL_LAYER = ("digits_cnn", "block1.a.conv")


@dataclass
class RealLayer:
    """A real layer's operands: ``codes`` ``[K, P]`` (one image), ``zero_point``, weight codes
    ``[O, K]`` and the per-channel widths ``bits``."""

    codes: torch.Tensor
    zero_point: int
    weights: torch.Tensor
    bits: list[int]


def _capture(model: str, layer: str, images: int, fraction_8bit: float) -> dict:
    """The layer's float inputs on the calibration split (forward hook); ``s``, ``z`` from all of
    them, the operand matrix of the first ``images``; weights 8-bit in the ``fraction_8bit`` channels
    with the largest 4-bit rounding error (a stand-in for the study's criterion), 4-bit elsewhere."""
    from golden.models import get_network

    net = get_network(model)
    fp32 = net.load()
    module = dict(fp32.named_modules())[layer]
    inputs = []
    hook = module.register_forward_hook(lambda _m, args, _out: inputs.append(args[0].detach()))
    try:
        net.calibrate(fp32)
    finally:
        hook.remove()
    x = torch.cat(inputs)
    scale, zero = calibrate_activations(x)
    codes = quantize_activations(x[:images], scale=scale, zero_point=zero)
    if isinstance(module, torch.nn.Conv2d):
        q = operand_matrix(codes, kernel=module.kernel_size, stride=module.stride, padding=module.padding, zero_point=zero)
    else:
        q = operand_matrix(codes)
    w = module.weight.detach().float()
    o = w.shape[0]
    w4 = quantize_weights(w, [4] * o)
    scale4 = w.reshape(o, -1).abs().amax(dim=1) / 7
    error = (w.reshape(o, -1) - w4 * scale4[:, None]).pow(2).sum(dim=1)
    n8 = round(fraction_8bit * o)
    bits = [4] * o
    for c in error.argsort(descending=True)[:n8].tolist():
        bits[c] = 8
    return {"codes": q.numpy(), "zero_point": np.int64(zero), "weights": quantize_weights(w, bits).numpy(),
            "bits": np.array(bits)}


def real_layer(model: str = REAL_LAYER[0], layer: str = REAL_LAYER[1], *, images: int = 1,
               fraction_8bit: float = 0.25) -> RealLayer:
    """A real layer, exported once into ``build/sim/export/`` under a lock (shared by test workers)."""
    path = EXPORT / f"hap_{model}_{layer}_{images}_{fraction_8bit}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            arrays = _capture(model, layer, images, fraction_8bit)
            partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
            np.savez(partial, **arrays)
            partial.replace(path)
    with np.load(path) as z:
        return RealLayer(torch.from_numpy(z["codes"]).to(torch.int64), int(z["zero_point"]),
                         torch.from_numpy(z["weights"]).to(torch.int64), [int(b) for b in z["bits"]])


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
