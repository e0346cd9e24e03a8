"""eDQA golden model, float path: the scales of a layer, the quantization of its channels to ``q``
and shift errors ``se``, and their de-quantization, in float32 torch.

eDQA is the scheme of "eDQA: Efficient Deep Quantization of DNN Activations on Edge Devices". This
module is the definition of its number behaviour that the RTL in ``hdl/edqa`` reproduces bit for
bit; :mod:`golden.edqa.huffman` holds the compression of the shift errors.

Numbers
-------
Activations, scales and de-quantized values are IEEE-754 binary32. Each step below is one float32
operation rounded to nearest, ties to even, with subnormal numbers kept and overflow giving an
infinity: what torch computes on a CPU with the default floating-point environment (a call refuses
to run when denormal flushing has been switched on). ``round`` is round half to even
(``torch.round``).

Scales
------
A layer has one positive, finite float32 ``absmax``. With ``N`` target bits and ``m`` extra bits::

    delta_N  = absmax  * 2^-(N-1)      inv_N  = 1 / delta_N
    delta_Nm = delta_N * 2^-m          inv_Nm = 1 / delta_Nm

(products by exact powers of two, quotients rounded to nearest even). ``absmax`` is refused when any
of the four is zero or infinite. Quantization multiplies by an inverse; it never divides.

Quantization of a channel
-------------------------
An *important* channel keeps ``m`` bits more: ``p = x * inv_Nm``, ``a = clamp(round(p), -2^(N+m-1),
2^(N+m-1) - 1)``, then ``q = a >> m`` (arithmetic shift, ``floor(a / 2^m)``) and the shift error
``se = a & (2^m - 1)``, so that ``a = q * 2^m + se``. Any other channel: ``p = x * inv_N``, ``q =
clamp(round(p), -2^(N-1), 2^(N-1) - 1)`` and no shift error. Both ``q`` lie in the signed ``N``-bit
range. A product that overflows to an infinity clamps to the end of the range; signed zeros and
everything that rounds to zero give 0. A NaN or infinite activation is refused, naming its position.

De-quantization
---------------
Important channel: ``float32(q * 2^m + se) * delta_Nm``; other channel: ``float32(q) * delta_N``.
The integer converts exactly and the product is one float32 multiplication; 0 gives ``+0.0``.

Parameters: ``1 <= m <= N`` and ``N + m <= 16`` here (the RTL takes ``2 <= N <= 8``, ``1 <= m <= 3``).
"""

from __future__ import annotations

import numbers
import struct
from dataclasses import dataclass

import torch

__all__ = [
    "MAX_TOTAL_BITS",
    "Scales",
    "check_bits",
    "scales",
    "float32_bits",
    "quantize_channel",
    "quantize_layer",
    "dequantize_channel",
    "dequantize_layer",
]

#: Largest ``N + m`` of the golden model.
MAX_TOTAL_BITS = 16

_F32 = torch.float32


def float32_bits(value: float) -> int:
    """The 32-bit pattern of a float32 value (a Python float that is exactly a float32)."""
    return struct.unpack("<I", struct.pack("<f", value))[0]


def _check_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return value


def check_bits(n_bits: int, m_extra: int) -> None:
    """Validate ``N`` and ``m``: ints with ``1 <= m <= N`` and ``N + m <= 16``.

    ``TypeError`` for a non-int, ``ValueError`` (naming the parameter and its value) otherwise.
    """
    _check_int("n_bits", n_bits)
    _check_int("m_extra", m_extra)
    if n_bits < 1:
        raise ValueError(f"n_bits must be at least 1, got n_bits={n_bits}")
    if not 1 <= m_extra <= n_bits:
        raise ValueError(f"m_extra must satisfy 1 <= m_extra <= n_bits, got m_extra={m_extra} with n_bits={n_bits}")
    if n_bits + m_extra > MAX_TOTAL_BITS:
        raise ValueError(
            f"n_bits + m_extra must be at most {MAX_TOTAL_BITS}, got n_bits={n_bits}, m_extra={m_extra}"
        )


def _check_environment() -> None:
    """Refuse to compute when torch flushes subnormal numbers (``torch.set_flush_denormal(True)``)."""
    tiny = torch.tensor([2.0**-126], dtype=_F32) * torch.tensor([0.5], dtype=_F32)
    if tiny.item() == 0.0:
        raise RuntimeError(
            "torch flushes subnormal float32 numbers to zero (torch.set_flush_denormal(True)); "
            "the eDQA float path keeps them: switch flushing off"
        )


def _absmax_value(absmax) -> float:
    """``absmax`` as a Python float, refused unless it is exactly a positive, finite float32."""
    if isinstance(absmax, torch.Tensor):
        if absmax.dtype != _F32 or absmax.numel() != 1:
            raise TypeError(f"absmax must be a float32 scalar, got a {absmax.dtype} tensor of shape {tuple(absmax.shape)}")
        absmax = absmax.item()
    if isinstance(absmax, bool) or not isinstance(absmax, numbers.Real):
        raise TypeError(f"absmax must be a float, got {absmax!r}")
    value = float(absmax)
    if not 0.0 < value < float("inf") or torch.tensor(value, dtype=_F32).item() != value:
        raise ValueError(f"absmax must be a positive, finite float32 value, got absmax={absmax!r}")
    return value


@dataclass(frozen=True)
class Scales:
    """The scales of a layer (every field a Python float that is exactly a float32 value)."""

    n_bits: int
    m_extra: int
    absmax: float
    delta_n: float
    delta_nm: float
    inv_n: float
    inv_nm: float

    def bits(self, name: str) -> int:
        """The float32 bit pattern of the field ``name`` (``"inv_nm"``, ``"delta_n"``, ...)."""
        if name not in _FLOAT_FIELDS:
            raise ValueError(f"name must be one of {_FLOAT_FIELDS}, got {name!r}")
        return float32_bits(getattr(self, name))


_SCALE_FIELDS = ("delta_n", "delta_nm", "inv_n", "inv_nm")
_FLOAT_FIELDS = ("absmax", *_SCALE_FIELDS)


def scales(n_bits: int, m_extra: int, absmax) -> Scales:
    """The scales of a layer with maximum ``absmax`` (see the module docstring)."""
    check_bits(n_bits, m_extra)
    value = _absmax_value(absmax)
    _check_environment()
    t = torch.tensor(value, dtype=_F32)
    delta_n = t * torch.tensor(2.0 ** -(n_bits - 1), dtype=_F32)
    delta_nm = delta_n * torch.tensor(2.0**-m_extra, dtype=_F32)
    one = torch.tensor(1.0, dtype=_F32)
    result = Scales(
        n_bits,
        m_extra,
        value,
        delta_n.item(),
        delta_nm.item(),
        (one / delta_n).item(),
        (one / delta_nm).item(),
    )
    for name in _SCALE_FIELDS:
        v = getattr(result, name)
        if v == 0.0 or v == float("inf"):
            raise ValueError(f"absmax={value!r} gives {name} = {v} in float32 with n_bits={n_bits}, m_extra={m_extra}")
    return result


def _float_input(x, ndim: int) -> torch.Tensor:
    """``x`` as a float32 tensor of ``ndim`` dimensions (lists are converted, other dtypes refused)."""
    if not isinstance(x, torch.Tensor):
        x = torch.tensor(x, dtype=_F32)
    if x.dtype != _F32:
        raise TypeError(f"expected float32 activations, got dtype {x.dtype}")
    if x.dim() != ndim:
        raise ValueError(f"expected a {ndim}-D tensor, got shape {tuple(x.shape)}")
    return x


def _check_finite(x: torch.Tensor) -> None:
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        position = tuple(int(i) for i in (~finite).nonzero()[0])
        where = f"index {position[0]}" if len(position) == 1 else f"(row, channel) {position}"
        raise ValueError(f"non-finite activation {x[position].item()} at {where}")


def _mask_input(important_mask, channels: int) -> torch.Tensor:
    mask = torch.as_tensor(important_mask)
    if mask.dtype != torch.bool or mask.shape != (channels,):
        raise ValueError(f"important_mask must be a bool tensor of shape ({channels},), got {mask.dtype} {tuple(mask.shape)}")
    return mask


def _quantize(x: torch.Tensor, mask: torch.Tensor, s: Scales):
    """The quantization of ``x [..., C]`` with channel importance ``mask [C]``: ``(q, se)``, int64."""
    n, m = s.n_bits, s.m_extra
    dev = x.device
    mask = mask.to(dev)
    inv = torch.where(mask, torch.tensor(s.inv_nm, dtype=_F32, device=dev), torch.tensor(s.inv_n, dtype=_F32, device=dev))
    wide, narrow = 1 << (n + m - 1), 1 << (n - 1)
    lo = torch.where(mask, torch.tensor(-wide, dtype=_F32, device=dev), torch.tensor(-narrow, dtype=_F32, device=dev))
    hi = torch.where(mask, torch.tensor(wide - 1, dtype=_F32, device=dev), torch.tensor(narrow - 1, dtype=_F32, device=dev))
    a = torch.minimum(torch.maximum(torch.round(x * inv), lo), hi).to(torch.int64)
    shift = torch.where(mask, m, 0).to(device=dev, dtype=torch.int64)
    low = torch.where(mask, (1 << m) - 1, 0).to(device=dev, dtype=torch.int64)
    return a >> shift, a & low


def _dequantize(q: torch.Tensor, se: torch.Tensor, mask: torch.Tensor, s: Scales) -> torch.Tensor:
    dev = q.device
    mask = mask.to(dev)
    a = torch.where(mask, q * (1 << s.m_extra) + se, q)
    delta = torch.where(mask, torch.tensor(s.delta_nm, dtype=_F32, device=dev), torch.tensor(s.delta_n, dtype=_F32, device=dev))
    return a.to(_F32) * delta


def quantize_layer(x, important_mask, n_bits: int, m_extra: int, absmax):
    """Quantize the activations ``x [rows, C]`` of a layer; channel ``c`` is column ``c``.

    ``important_mask``: bool tensor ``[C]``. Returns int64 tensors ``(q, se)`` of shape ``[rows, C]``
    (``se`` is 0 in the unimportant channels). ``ValueError`` for a non-finite element, naming its
    (row, channel).
    """
    s = scales(n_bits, m_extra, absmax)
    x = _float_input(x, 2)
    mask = _mask_input(important_mask, x.shape[1])
    _check_finite(x)
    return _quantize(x, mask, s)


def quantize_channel(x, n_bits: int, m_extra: int, absmax, important: bool):
    """Quantize one channel ``x`` (1-D float32 tensor, or a list converted to float32).

    Returns ``(q, se)``, int64 tensors of the shape of ``x``; ``se`` is ``None`` for an unimportant
    channel. ``ValueError`` for a non-finite element, naming its index.
    """
    if not isinstance(important, bool):
        raise TypeError(f"important must be a bool, got {important!r}")
    s = scales(n_bits, m_extra, absmax)
    x = _float_input(x, 1)
    _check_finite(x)
    q, se = _quantize(x[:, None], torch.tensor([important]), s)
    return q[:, 0], (se[:, 0] if important else None)


def _int_input(name: str, value, ndim: int) -> torch.Tensor:
    t = torch.as_tensor(value)
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {t.dtype}")
    if t.dim() != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D tensor, got shape {tuple(t.shape)}")
    return t.to(torch.int64)


def _check_range(name: str, t: torch.Tensor, lo: int, hi: int, where: str = "") -> None:
    if t.numel() and (int(t.min()) < lo or int(t.max()) > hi):
        raise ValueError(f"{name} must lie in [{lo}, {hi}]{where}, got values in [{int(t.min())}, {int(t.max())}]")


def dequantize_layer(q, se, important_mask, n_bits: int, m_extra: int, absmax) -> torch.Tensor:
    """De-quantize ``q, se [rows, C]`` (as :func:`quantize_layer` gives them) to float32 ``[rows, C]``.

    ``se`` must be 0 in the unimportant channels.
    """
    s = scales(n_bits, m_extra, absmax)
    q = _int_input("q", q, 2)
    se = _int_input("se", se, 2)
    if se.shape != q.shape:
        raise ValueError(f"q and se differ in shape: {tuple(q.shape)} and {tuple(se.shape)}")
    mask = _mask_input(important_mask, q.shape[1])
    _check_range("q", q, -(1 << (n_bits - 1)), (1 << (n_bits - 1)) - 1)
    _check_range("se", se[:, mask.to(se.device)], 0, (1 << m_extra) - 1, " in the important channels")
    _check_range("se", se[:, ~mask.to(se.device)], 0, 0, " in the unimportant channels")
    return _dequantize(q, se, mask, s)


def dequantize_channel(q, se, n_bits: int, m_extra: int, absmax, important: bool) -> torch.Tensor:
    """De-quantize one channel: ``q`` (1-D integers) and ``se`` (its shift errors, ``None`` for an
    unimportant channel) to a float32 tensor."""
    if not isinstance(important, bool):
        raise TypeError(f"important must be a bool, got {important!r}")
    q = _int_input("q", q, 1)
    if important:
        if se is None:
            raise ValueError("an important channel needs its shift errors se")
        se = _int_input("se", se, 1)
    else:
        if se is not None:
            raise ValueError("an unimportant channel has no shift errors: se must be None")
        se = torch.zeros_like(q)
    return dequantize_layer(q[:, None], se[:, None], torch.tensor([important]), n_bits, m_extra, absmax)[:, 0]
