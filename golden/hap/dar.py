"""HAP activations: 8-bit asymmetric quantization and dynamic asymmetric re-quantization (DAR).

HAP is the scheme of "HAP: Efficient Quantization Harnessing Adaptive Precision for DNN Hardware
Acceleration" (Luo, Geng, Jiang, Liu, Han; DAC 2026). This module defines, exactly, what the RTL in
``hdl/hap`` is fed with.

Activation quantization
-----------------------
A layer input is quantized per tensor, 8 bits asymmetric: ``q = clamp(round(x * (1/s)) + z, 0, 255)``
in float32 (``1/s`` one float32 division, ``round`` half to even). ``s`` and ``z`` come from the
calibration data's min/max, the range widened to hold 0 so that real zero is exactly the code ``z``:
``s = (hi - lo) / 255`` (rounded to float32; 1.0 when ``hi == lo``) and ``z = clamp(round(-lo / s),
0, 255)``. This is the asymmetric 8-bit quantizer of :mod:`golden.quant`, shared so that a network run
through a scheme and a layer run through this module agree.

Operand matrix
--------------
A layer computes ``Y[o, p] = sum_k W[o, k] * (Q[k, p] - z)``. :func:`operand_matrix` builds ``Q``
``[K, P]``: for a linear layer ``K`` is the input features and ``P`` the rows (tokens, batch); for a
convolution it is the im2col matrix, ``K = C * kh * kw`` in the order of ``weight.reshape(O, -1)``,
``P = N * H' * W'`` (order n, y, x), padding filled with the code ``z`` (real zero).

DAR
---
``Q`` is cut into groups of ``G`` values. *Intra-channel* (the default, HAP's choice): within one row
``k``, the columns ``[j*G, (j+1)*G)`` (the last group of a row may be shorter). *Inter-channel* (for
comparison): within one column ``p``, the rows ``[i*G, (i+1)*G)``. Per group: base ``b = min(q)``,
residual ``r = q - b`` (0..255), precision ``p = bit_length(max(r))`` (0..8; 0 when all values are
equal). ``q = b + r`` exactly, so DAR loses nothing at the 8-bit resolution; it only lets a group be
coded, and computed bit-serially, with ``p`` bits instead of 8.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch

from golden.quant import im2col

__all__ = [
    "ACT_BITS",
    "MODES",
    "BASE_BITS",
    "PRECISION_BITS",
    "calibrate_activations",
    "quantize_activations",
    "operand_matrix",
    "DarGroups",
    "dar",
    "bit_length",
    "average_precision",
    "metadata_bits_per_value",
    "storage_bits_per_value",
]

#: Bits of an activation code.
ACT_BITS = 8
#: Largest code.
ACT_MAX = (1 << ACT_BITS) - 1
#: Grouping modes of :func:`dar`.
MODES = ("intra", "inter")
#: Stored bits per group: the base (8 bits) and the precision (0..8 in 4 bits).
BASE_BITS = 8
PRECISION_BITS = 4


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return _int(name, value[0], minimum), _int(name, value[1], minimum)
    v = _int(name, value, minimum)
    return v, v


def _float_tensor(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError("x must not be empty")
    if not torch.isfinite(x).all():
        raise ValueError("x must be finite")
    return x


def calibrate_activations(x: torch.Tensor) -> tuple[float, int]:
    """``(scale, zero_point)`` of the 8-bit asymmetric quantizer from the min/max of ``x`` (range
    widened to hold 0; scale a float32 value, zero point an int 0..255)."""
    x = _float_tensor(x)
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / ACT_MAX if hi > lo else 1.0
    scale = float(torch.tensor(scale, dtype=torch.float32))
    zero = int(round(-lo / scale))
    return scale, min(max(zero, 0), ACT_MAX)


def quantize_activations(x: torch.Tensor, *, scale: float, zero_point: int) -> torch.Tensor:
    """Codes int64 0..255 of ``x``: ``clamp(round(x * float32(1/scale)) + zero_point, 0, 255)`` in
    float32, ``round`` half to even."""
    x = _float_tensor(x)
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"scale must be a float, got {scale!r}")
    if not (float(scale) > 0.0 and float(scale) != float("inf")):
        raise ValueError(f"scale must be positive and finite, got {scale!r}")
    zero_point = _int("zero_point", zero_point, 0)
    if zero_point > ACT_MAX:
        raise ValueError(f"zero_point must be <= {ACT_MAX}, got {zero_point}")
    s = torch.tensor(float(scale), dtype=torch.float32)
    inv = (1.0 / s).float()
    q = torch.round(x.float() * inv) + zero_point
    return q.clamp(0, ACT_MAX).to(torch.int64)


def _codes(codes, name: str = "codes") -> torch.Tensor:
    if not isinstance(codes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(codes).__name__}")
    if codes.dtype != torch.int64:
        raise TypeError(f"{name} must be int64, got {codes.dtype}")
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) > ACT_MAX):
        raise ValueError(f"{name} must lie in 0..{ACT_MAX}")
    return codes


def operand_matrix(codes, *, kernel=None, stride=1, padding=0, zero_point=0) -> torch.Tensor:
    """The operand matrix ``Q`` int64 ``[K, P]`` of a layer input's codes.

    ``kernel=None``: a linear layer, ``codes`` ``[..., K]`` (all leading dimensions are rows ``P``).
    Otherwise a convolution, ``codes`` ``[N, C, H, W]``, ``kernel``/``stride``/``padding`` an int or a
    pair: im2col with ``K = C * kh * kw`` (order c, ky, kx) and ``P = N * H' * W'`` (order n, y, x),
    the padding filled with ``zero_point`` (the code of real zero)."""
    codes = _codes(codes)
    zero_point = _int("zero_point", zero_point, 0)
    if zero_point > ACT_MAX:
        raise ValueError(f"zero_point must be <= {ACT_MAX}, got {zero_point}")
    if kernel is None:
        if codes.dim() < 1 or codes.shape[-1] == 0:
            raise ValueError("codes of a linear layer must be [..., K] with K >= 1")
        return codes.reshape(-1, codes.shape[-1]).t().contiguous()
    if codes.dim() != 4:
        raise ValueError(f"codes of a convolution must be [N, C, H, W], got shape {tuple(codes.shape)}")
    kernel = _pair("kernel", kernel, 1)
    stride = _pair("stride", stride, 1)
    padding = _pair("padding", padding, 0)
    rows, _ = im2col(codes, kernel, stride, padding, (1, 1), zero_point)
    return rows.t().contiguous()


@dataclass(frozen=True)
class DarGroups:
    """The DAR groups of an operand matrix (all tensors int64).

    ``codes`` ``[K, P]``: the matrix; ``residual`` ``[K, P]``: ``codes - base`` of each value's group.
    ``base`` and ``precision``: one value per group, ``[K, ceil(P/G)]`` for ``mode="intra"`` (group
    ``j`` of row ``k`` is columns ``[j*G, (j+1)*G)``) and ``[ceil(K/G), P]`` for ``"inter"`` (group
    ``i`` of column ``p`` is rows ``[i*G, (i+1)*G)``)."""

    codes: torch.Tensor
    base: torch.Tensor
    residual: torch.Tensor
    precision: torch.Tensor
    group_size: int
    mode: str

    def per_value(self, per_group: torch.Tensor) -> torch.Tensor:
        """A per-group tensor (shape of ``base``) spread over the values ``[K, P]``."""
        k, p = self.codes.shape
        g = self.group_size
        if self.mode == "intra":
            return per_group.repeat_interleave(g, dim=1)[:, :p]
        return per_group.repeat_interleave(g, dim=0)[:k, :]

    @property
    def groups(self) -> int:
        """Number of groups."""
        return self.base.numel()

    @property
    def values(self) -> int:
        """Number of values."""
        return self.codes.numel()


def bit_length(values: torch.Tensor) -> torch.Tensor:
    """``bit_length`` of every value of an int64 tensor of values 0..255 (0 for 0, 8 for 128..255)."""
    out = torch.zeros_like(values)
    for i in range(ACT_BITS):
        out += (values >= (1 << i)).to(torch.int64)
    return out


def dar(matrix: torch.Tensor, *, group_size: int, mode: str = "intra") -> DarGroups:
    """DAR of an operand matrix ``[K, P]`` of codes 0..255 in groups of ``group_size`` values, within
    a row (``mode="intra"``) or within a column (``"inter"``)."""
    matrix = _codes(matrix, "matrix")
    if matrix.dim() != 2 or matrix.numel() == 0:
        raise ValueError(f"matrix must be a non-empty [K, P] matrix, got shape {tuple(matrix.shape)}")
    group_size = _int("group_size", group_size, 1)
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, got {mode!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    work = matrix if mode == "intra" else matrix.t()
    rows, cols = work.shape
    n_groups = -(-cols // group_size)
    pad = n_groups * group_size - cols
    lo = torch.nn.functional.pad(work, (0, pad), value=ACT_MAX).reshape(rows, n_groups, group_size)
    hi = torch.nn.functional.pad(work, (0, pad), value=0).reshape(rows, n_groups, group_size)
    base = lo.min(dim=2).values
    spread = hi.max(dim=2).values - base
    precision = bit_length(spread)
    if mode == "inter":
        base, precision = base.t().contiguous(), precision.t().contiguous()
    groups = DarGroups(matrix, base, matrix, precision, group_size, mode)
    residual = matrix - groups.per_value(base)
    return DarGroups(matrix, base, residual, precision, group_size, mode)


def _groups(groups) -> DarGroups:
    if not isinstance(groups, DarGroups):
        raise TypeError(f"groups must be a DarGroups, got {type(groups).__name__}")
    return groups


def average_precision(groups: DarGroups) -> float:
    """Mean over the values of their group's precision (bits per value of the residuals)."""
    groups = _groups(groups)
    return float(groups.per_value(groups.precision).sum()) / groups.values


def metadata_bits_per_value(groups: DarGroups) -> float:
    """Bits per value of the groups' metadata: 8 (base) + 4 (precision) per group."""
    groups = _groups(groups)
    return (BASE_BITS + PRECISION_BITS) * groups.groups / groups.values


def storage_bits_per_value(groups: DarGroups) -> float:
    """All stored bits per value: the residuals at their group's precision plus the metadata
    (:func:`average_precision` + :func:`metadata_bits_per_value`)."""
    return average_precision(groups) + metadata_bits_per_value(groups)
