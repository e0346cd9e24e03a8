"""SBQ golden model: significant-bit quantization (papers/sbq.txt, SPEC.md section SBQ).

This module defines the exact integer behaviour that the RTL in ``hdl/sbq`` must reproduce.

Term encoding (leading-one encoding with sign-extension elimination)
--------------------------------------------------------------------
A signed ``bits``-wide integer is split into at most ``T = bits // 2`` terms, most significant first.
A term has a magnitude in {1, 2, 3}, an offset and a sign; only the first term can be negative.

* ``v >= 0``: take the most significant 1 bit at position ``p``. If ``p == 0`` the term is 1 at
  offset 0, otherwise bits ``[p:p-1]`` (value 2 or 3) at offset ``p - 1``. Clear them and repeat.
* ``v < 0``: with the minimal two's-complement width ``w`` of ``v``, the first term is
  ``-2 * 2**(w-2)`` (``v == -1`` gives -1 at offset 0); bits ``w-3..0`` are encoded as for ``v >= 0``.
"""

from __future__ import annotations

import torch

__all__ = [
    "ENCODE_BITS",
    "encode",
    "encode_value",
    "decode",
    "term_count",
    "fixed_slice_term_count",
]

ENCODE_BITS = (4, 8)


def _check_bits(bits: int) -> int:
    if bits not in ENCODE_BITS:
        raise ValueError(f"bits must be one of {ENCODE_BITS}, got {bits!r}")
    return bits // 2


def _check_range(x: torch.Tensor, bits: int) -> torch.Tensor:
    if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
        raise ValueError(f"expected an integer tensor, got dtype {x.dtype}")
    x = x.to(torch.int64)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if x.numel() and (int(x.min()) < lo or int(x.max()) > hi):
        raise ValueError(f"values must lie in [{lo}, {hi}] for bits={bits}")
    return x


def encode_value(v: int, bits: int) -> list[tuple[int, int, bool]]:
    """Sequential reference: the terms ``(magnitude, offset, negative)`` of one integer, in order.

    Written line by line from SPEC.md; the vectorized :func:`encode` is tested equal to it.
    """
    _check_bits(bits)
    if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
        raise ValueError(f"{v} does not fit in {bits} signed bits")
    terms: list[tuple[int, int, bool]] = []
    if v < 0:
        w = 1
        while not -(1 << (w - 1)) <= v:  # minimal two's-complement width
            w += 1
        if w == 1:  # v == -1
            return [(1, 0, True)]
        terms.append((2, w - 2, True))
        rest = v & ((1 << (w - 2)) - 1)
    else:
        rest = v
    while rest:
        p = rest.bit_length() - 1
        if p == 0:
            terms.append((1, 0, False))
            rest = 0
        else:
            mag = (rest >> (p - 1)) & 3
            terms.append((mag, p - 1, False))
            rest &= ~(3 << (p - 1))
    return terms


def _msb(v: torch.Tensor, width: int) -> torch.Tensor:
    """Position of the most significant 1 bit of non-negative ``v`` (-1 for zero)."""
    pos = torch.full_like(v, -1)
    for p in range(width):
        pos = torch.where((v >> p) & 1 == 1, torch.full_like(v, p), pos)
    return pos


def _positive_terms(rest: torch.Tensor, width: int, count: int):
    """Leading-one terms of non-negative ``rest``: ``count`` tuples of (mag, off, valid) tensors."""
    terms = []
    for _ in range(count):
        p = _msb(rest, width)
        valid = p >= 0
        off = (p - 1).clamp(min=0)
        mag = torch.where(p == 0, torch.ones_like(p), (rest >> off) & 3)
        mag = torch.where(valid, mag, torch.zeros_like(mag))
        off = torch.where(valid, off, torch.zeros_like(off))
        rest = rest - (mag << off)
        terms.append((mag, off, valid))
    if bool((rest != 0).any()):  # cannot happen for bits in ENCODE_BITS
        raise AssertionError("term encoding did not consume every bit")
    return terms


def encode(x: torch.Tensor, bits: int):
    """Leading-one term encoding with sign-extension elimination.

    ``x``: integer tensor of any shape with values in the signed ``bits`` range, ``bits`` in {4, 8}.
    Returns ``(mag, off, neg, valid)``, int64/bool tensors of shape ``x.shape + (T,)`` with
    ``T = bits // 2``. Slot 0 is the most significant term; invalid slots are all zero.
    """
    slots = _check_bits(bits)
    x = _check_range(torch.as_tensor(x), bits)
    width = bits - 1
    low = x & ((1 << width) - 1)  # bits below the sign bit
    negative = x < 0

    # Negative values: k = position of the most significant 0 bit below the sign bit (w - 2).
    k = _msb((~x) & ((1 << width) - 1), width)
    minus_one = negative & (k < 0)
    lead_mag = torch.where(minus_one, torch.ones_like(x), torch.full_like(x, 2))
    lead_off = k.clamp(min=0)
    rest = torch.where(negative, low & ((1 << lead_off) - 1), low)
    rest = torch.where(minus_one, torch.zeros_like(rest), rest)

    pos = _positive_terms(rest, width, slots)
    mags, offs, negs, valids = [], [], [], []
    for s in range(slots):
        p_mag, p_off, p_valid = pos[s]
        if s == 0:
            n_mag, n_off, n_valid = lead_mag, lead_off, torch.ones_like(negative)
        else:
            n_mag, n_off, n_valid = pos[s - 1]
        mags.append(torch.where(negative, n_mag, p_mag))
        offs.append(torch.where(negative, n_off, p_off))
        valids.append(torch.where(negative, n_valid, p_valid))
        negs.append(negative if s == 0 else torch.zeros_like(negative))
    if bool((negative & pos[slots - 1][2]).any()):
        raise AssertionError("a negative value needed more than T terms")
    return (
        torch.stack(mags, -1),
        torch.stack(offs, -1),
        torch.stack(negs, -1),
        torch.stack(valids, -1),
    )


def decode(mag: torch.Tensor, off: torch.Tensor, neg: torch.Tensor, valid: torch.Tensor):
    """Sum of the terms: the exact inverse of :func:`encode`."""
    value = torch.where(neg, -mag, mag) << off
    return torch.where(valid, value, torch.zeros_like(value)).sum(-1)


def term_count(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Number of leading-one terms of each value."""
    return encode(x, bits)[3].sum(-1)


def fixed_slice_term_count(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Number of nonzero 2-bit slices of each value's two's-complement pattern (fixed slicing)."""
    _check_bits(bits)
    x = _check_range(torch.as_tensor(x), bits) & ((1 << bits) - 1)
    return sum(((x >> (2 * s)) & 3 != 0).to(torch.int64) for s in range(bits // 2))
