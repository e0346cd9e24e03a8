"""SBQ golden model: the term encoder, the ranking of term-pair products, and the lane/queue inner
product, in integer-exact torch.

SBQ is the scheme of "SBQ: Exploiting Significant Bits for Efficient and Accurate Post-Training DNN
Quantization" (J. Ling et al., DATE 2025). This module is the definition of its integer behaviour
that the RTL in ``hdl/sbq`` must reproduce bit for bit.

Contents: the term encoder (:func:`encode`), the ranking of term-pair products (:func:`rank_pairs`)
and the lane/queue inner product (:func:`dot_reference`, the plain sequential definition, and
:func:`dot`, vectorized over a table of every int8 x int8 multiplication). The compiled C kernel
and :func:`golden.sbq.kernel.dot_matrix` live in :mod:`golden.sbq.kernel`.

Term encoding (leading-one encoding with sign-extension elimination)
--------------------------------------------------------------------
A signed ``bits``-wide integer is split into at most ``T = bits // 2`` terms, most significant first.
A term has a magnitude in {1, 2, 3}, an offset and a sign; only the first term can be negative.

* ``v >= 0``: take the most significant 1 bit at position ``p``. If ``p == 0`` the term is 1 at
  offset 0, otherwise bits ``[p:p-1]`` (value 2 or 3) at offset ``p - 1``. Clear them and repeat.
* ``v < 0``: with the minimal two's-complement width ``w`` of ``v``, the first term is
  ``-2 * 2**(w-2)`` (``v == -1`` gives -1 at offset 0); bits ``w-3..0`` are encoded as for ``v >= 0``.

Inner product
-------------
Every multiplication ``a * w`` is the sum of its term-pair products. A lane computes at most a
budget ``B`` of them per multiplication, most significant first (:func:`rank_pairs`), queues up to
``C`` more in a FIFO of depth ``D`` and spends the spare cycles of cheaper multiplications on the
queue (:func:`dot_reference` states the exact rules).
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import torch

__all__ = [
    "ENCODE_BITS",
    "encode",
    "encode_value",
    "decode",
    "term_count",
    "fixed_slice_term_count",
    "MAX_PAIRS",
    "rank_pairs",
    "dot_reference",
    "dot",
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

    Written line by line from the rules in the module docstring; the vectorized :func:`encode` is
    tested equal to it.
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


# --------------------------------------------------------------------------------------------------
# Term products, their rank order, and the lane/queue inner product.

MAX_PAIRS = 16  # 4 activation terms x 4 weight terms (int8 x int8)


def check_dot_params(budget: int, comp: int, depth: int, lanes: int) -> None:
    """Reject a budget, compensation, depth or lane count outside its range (shared with the kernel
    and the scheme)."""
    for name, value, low in (("budget", budget, 1), ("comp", comp, 0), ("depth", depth, 0), ("lanes", lanes, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def rank_pairs(a: int, w: int) -> list[tuple[int, int, int, int]]:
    """The term-pair products of ``a * w`` in rank order: ``(value, offset, i, j)`` tuples.

    ``i``/``j`` index the activation/weight terms (0 = most significant). Pairs are ranked by product
    offset ``off_a + off_w``, largest first; ties go to the smaller ``i``, then the smaller ``j``.
    Weights of int4 range have the same terms as in int8, so both are encoded as int8.
    """
    pairs = []
    for i, (ma, oa, na) in enumerate(encode_value(a, 8)):
        for j, (mw, ow, nw) in enumerate(encode_value(w, 8)):
            value = (-ma if na else ma) * (-mw if nw else mw) << (oa + ow)
            pairs.append((value, oa + ow, i, j))
    pairs.sort(key=lambda p: (-p[1], p[2], p[3]))
    return pairs


def dot_reference(a, w, budget: int, comp: int, depth: int, lanes: int = 16) -> int:
    """Plain sequential SBQ inner product of two integer sequences: the definition.

    Element ``k`` goes to lane ``k % lanes``; each lane keeps a FIFO of at most ``depth`` queued
    term products, empty at the start. For a multiplication with ``n`` ranked pairs the lane computes
    the first ``min(budget, n)``; if ``n > budget`` it pushes the next ``min(comp, n - budget)`` while
    the FIFO is not full (the rest are dropped); if ``n < budget`` its spare cycles pop the FIFO,
    oldest first. Zero padding to a multiple of ``lanes`` changes nothing: a zero has no terms, so its
    ``budget`` cycles only pop. Entries left at the end are dropped.
    """
    check_dot_params(budget, comp, depth, lanes)
    a, w = [int(v) for v in a], [int(v) for v in w]
    if len(a) != len(w):
        raise ValueError(f"a and w differ in length ({len(a)} != {len(w)})")
    length = -(-len(a) // lanes) * lanes
    a += [0] * (length - len(a))
    w += [0] * (length - len(w))
    total = 0
    for lane in range(lanes):
        queue: deque[int] = deque()
        for k in range(lane, length, lanes):
            pairs = rank_pairs(a[k], w[k])
            n = len(pairs)
            total += sum(p[0] for p in pairs[:budget])
            if n > budget:
                for value, *_ in pairs[budget : budget + min(comp, n - budget)]:
                    if len(queue) < depth:
                        queue.append(value)
            for _ in range(max(budget - n, 0)):
                if queue:
                    total += queue.popleft()
    return total


@lru_cache(maxsize=1)
def _pair_table() -> tuple[torch.Tensor, torch.Tensor]:
    """For every (a, w) in int8 x int8: ranked pair values ``[65536, 16]`` (0-padded) and counts."""
    values = torch.arange(-128, 128)
    mag, off, neg, valid = encode(values, 8)
    signed = torch.where(neg, -mag, mag)
    # [a, w, i, j]
    value = signed[:, None, :, None] * signed[None, :, None, :]
    offset = off[:, None, :, None] + off[None, :, None, :]
    both = valid[:, None, :, None] & valid[None, :, None, :]
    value = (value << offset).reshape(256, 256, MAX_PAIRS)
    offset = offset.reshape(256, 256, MAX_PAIRS)
    both = both.reshape(256, 256, MAX_PAIRS)
    position = torch.arange(MAX_PAIRS)  # i * 4 + j: smaller first among equal offsets
    key = torch.where(both, offset * MAX_PAIRS + (MAX_PAIRS - 1 - position), torch.full_like(offset, -1))
    order = key.argsort(dim=-1, descending=True, stable=True)
    ranked = torch.where(both, value, torch.zeros_like(value)).gather(-1, order)
    return ranked.reshape(-1, MAX_PAIRS).contiguous(), both.sum(-1).reshape(-1).contiguous()


def check_operands(x: torch.Tensor, name: str) -> torch.Tensor:
    """``x`` as int64, checked to be integer and in the int8 range."""
    x = torch.as_tensor(x)
    if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor, got dtype {x.dtype}")
    x = x.to(torch.int64)
    values = x.numpy()  # numpy's single-threaded reductions: torch's thread pool would spin next to the C kernel
    if values.size and (int(values.min()) < -128 or int(values.max()) > 127):
        raise ValueError(f"{name} values must lie in the int8 range [-128, 127]")
    return x


@lru_cache(maxsize=8)
def budget_tables(budget: int, comp: int):
    """Per (a, w) table entry, for one budget/compensation: the computed sum of the first
    ``budget`` pairs, the pair values offered to the queue ``[65536, comp]``, how many are offered,
    and the spare cycles. int32 is exact: one term product is at most 4 << 12 = 16384 in magnitude
    (the term pair -128 x -128; an int8 term at offset 6 is always the sign term -2 << 6)."""
    ranked, count = _pair_table()
    computed = ranked[:, :budget].sum(-1).to(torch.int32)
    offered = ranked[:, budget : budget + comp].to(torch.int32)
    if offered.shape[1] < comp:  # budget + comp > 16: those ranks never exist
        offered = torch.nn.functional.pad(offered, (0, comp - offered.shape[1]))
    n_offered = (count - budget).clamp(min=0, max=comp).to(torch.int32)
    spare = (budget - count).clamp(min=0).to(torch.int32)
    return computed, offered.contiguous(), n_offered, spare


def lane_steps(index: torch.Tensor, budget: int, comp: int, depth: int) -> torch.Tensor:
    """Run lanes over their multiplications. ``index`` ``[..., steps, lanes]`` into the pair table.

    Returns the int64 sum over steps and lanes. Push and pop never happen in the same
    multiplication (push needs n > budget, pop n < budget), so one step is push-then-pop.
    """
    computed, offered, n_offered, spare_table = budget_tables(budget, comp)
    shape = index.shape[:-2] + index.shape[-1:]
    total = torch.zeros(shape, dtype=torch.int64)
    use_queue = comp > 0 and depth > 0
    if use_queue:
        queue = torch.zeros(shape + (depth,), dtype=torch.int32)
        fill = torch.zeros(shape + (1,), dtype=torch.int32)
        slot = torch.arange(depth, dtype=torch.int32)
    for step in range(index.shape[-2]):
        idx = index[..., step, :]
        total += computed[idx]
        if not use_queue:
            continue
        # push: slot d takes offered entry d - fill while that is below min(offered, room)
        pushed = torch.minimum(n_offered[idx].unsqueeze(-1), depth - fill)
        pos = slot - fill
        take = (pos >= 0) & (pos < pushed)
        new = offered[idx].gather(-1, pos.clamp(0, comp - 1).long())
        queue = torch.where(take, new, queue)
        fill += pushed
        # pop: the spare cycles take the oldest entries; shift the rest to the front
        popped = torch.minimum(spare_table[idx].unsqueeze(-1), fill)
        total += torch.where(slot < popped, queue, 0).sum(-1)
        src = (slot + popped).long()
        queue = torch.where(src < depth, queue.gather(-1, src.clamp(max=depth - 1)), 0)
        fill -= popped
    return total.sum(-1)


def _table_index(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (a + 128) * 256 + (w + 128)


def pad_lanes(x: torch.Tensor, lanes: int, zero: int) -> torch.Tensor:
    """Pad the length to a multiple of ``lanes`` with ``zero`` (the encoding of operand 0) and split
    it into ``[..., steps, lanes]``."""
    length = x.shape[-1]
    padded = -(-length // lanes) * lanes
    if padded != length:
        x = torch.nn.functional.pad(x, (0, padded - length), value=zero)
    return x.reshape(*x.shape[:-1], padded // lanes, lanes)


def dot(a, w, budget: int, comp: int, depth: int, lanes: int = 16) -> torch.Tensor:
    """Vectorized SBQ inner products, exactly :func:`dot_reference` for every vector.

    ``a`` (int8 activations) and ``w`` (int4 or int8 weights): integer tensors ``[..., L]`` that
    broadcast against each other. Returns int64 ``[...]``.
    """
    check_dot_params(budget, comp, depth, lanes)
    a, w = check_operands(a, "a"), check_operands(w, "w")
    a, w = torch.broadcast_tensors(a, w)
    if a.dim() == 0:
        raise ValueError("a and w need a trailing length dimension")
    return lane_steps(pad_lanes(_table_index(a, w), lanes, _table_index(0, 0)), budget, comp, depth)
