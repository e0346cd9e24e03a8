"""TQ, the baseline of the SBQ paper: term quantization of integer codes, and ``TQScheme``.

Term quantization is the method of H.-T. Kung, B. McDanel and S. Q. Zhang, "Term Quantization:
Furthering Quantization at Run Time" (SC20), which the SBQ paper ("SBQ: Exploiting Significant Bits
for Efficient and Accurate Post-Training DNN Quantization", DATE 2025) compares against in its
Tables I and II (as "TQ [9]", at 4/4 and 2/4) and Table VI. What this module implements:

* **Terms.** A code ``v`` is written in sign-magnitude: ``v = sign(v) * |v|`` and ``|v|`` is a sum of
  signed powers of two, ``|v| = sum_t d_t * 2**e_t`` with ``d_t`` in {+1, -1} and strictly decreasing
  exponents ``e_t``. Two encodings:

  - ``"hese"`` (default), the signed-digit encoding of the TQ authors (HESE): every maximal run of
    ones in the binary form of ``|v|`` becomes one term ``+2**b`` if it is a single bit ``b``, and the
    two terms ``+2**(t+1) - 2**b`` if it spans bits ``b..t`` with ``t > b``. E.g. ``7 = 8 - 1``,
    ``110 = 128 - 32 + 16 - 2``, ``27 = 32 - 8 + 4 - 1``, ``-128 = -(128)``.
  - ``"binary"``: the set bits of ``|v|``, all ``d_t = +1``.

  The value's own sign multiplies every term, so a term of ``v`` is ``sign(v) * d_t * 2**e_t``.
* **Groups.** The last dimension (the reduction dimension of a dot product) is cut into groups of
  ``group`` consecutive values; a shorter last group is padded with zeros, which have no terms.
* **Selection.** Of all terms of a group's values, the ``budget`` terms with the largest magnitude
  ``2**e`` are kept and every other term is discarded (no compensation, unlike SBQ). Ties: among
  terms of equal exponent, the term of the value earlier in the group (smaller index along the last
  dimension) is kept first. Two terms of one value never tie (strictly decreasing exponents), so this
  is a total order; it is also what a scan "take the largest remaining head term, the first on ties"
  gives, as in the authors' public kernel. A group with at most ``budget`` terms is unchanged.

:func:`term_quantize` is the vectorized torch implementation, :func:`term_quantize_reference` the
plain sequential definition (the tests hold them equal). :class:`TQScheme` applies it to both operands
of every layer's integer dot.
"""

from __future__ import annotations

import torch

from golden.quant import UniformScheme, int_matmul

__all__ = [
    "ENCODINGS",
    "encode_terms",
    "term_count_table",
    "term_quantize",
    "term_quantize_reference",
    "TQScheme",
]

ENCODINGS = ("hese", "binary")
#: Codes up to this magnitude are supported (far above int8/int16 use).
MAX_ABS = 1 << 16


def _check(group, budget, encoding) -> None:
    for name, v in (("group", group), ("budget", budget)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"TQ {name} must be an integer, got {v!r}")
    if group < 1:
        raise ValueError(f"TQ group must be >= 1, got {group}")
    if budget < 1:
        raise ValueError(f"TQ budget must be >= 1 term per group, got {budget}")
    if encoding not in ENCODINGS:
        raise ValueError(f"TQ encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")


def encode_terms(m: int, encoding: str = "hese") -> list[tuple[int, int]]:
    """The terms ``(digit, exponent)`` of a magnitude ``m >= 0``, largest exponent first, written as
    the plain bit-by-bit definition (the reference; the vectorized path builds its own table)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"TQ encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    if not 0 <= m <= MAX_ABS:
        raise ValueError(f"TQ magnitude must be in 0..{MAX_ABS}, got {m}")
    bits = [(m >> i) & 1 for i in range(m.bit_length())]
    if encoding == "binary":
        return [(1, i) for i in reversed(range(len(bits))) if bits[i]]
    terms = []
    i = len(bits) - 1
    while i >= 0:  # runs of ones, from the top
        if not bits[i]:
            i -= 1
            continue
        top = i
        while i >= 0 and bits[i]:
            i -= 1
        bottom = i + 1
        terms += [(1, top)] if top == bottom else [(1, top + 1), (-1, bottom)]
    return terms


_TABLES: dict[str, torch.Tensor] = {}


def _digit_planes(encoding: str) -> torch.Tensor:
    """``digit[m, i]`` (int8: +1, -1 or 0): the digit of ``2**i`` in the encoding of the magnitude
    ``m``, for every ``m`` in ``0..MAX_ABS`` at once, computed from the bits (not from
    :func:`encode_terms`, which the tests compare it with)."""
    if encoding not in _TABLES:
        m = torch.arange(MAX_ABS + 1, dtype=torch.int64)
        nbits = MAX_ABS.bit_length() + 1  # room for the +2**(t+1) of a run that ends at the top bit
        bit = torch.stack([(m >> i) & 1 for i in range(nbits)], 1)  # [M, nbits]
        zero = torch.zeros_like(bit[:, :1])
        above = torch.cat([bit[:, 1:], zero], 1)  # bit i+1
        below = torch.cat([zero, bit[:, :-1]], 1)  # bit i-1
        below2 = torch.cat([zero, below[:, :-1]], 1)  # bit i-2
        if encoding == "binary":
            digit = bit
        else:
            single = (bit == 1) & (above == 0) & (below == 0)  # a run of one bit: +2**i
            run_bottom = (bit == 1) & (above == 1) & (below == 0)  # bottom b of a run b..t, t > b: -2**b
            run_top = (bit == 0) & (below == 1) & (below2 == 1)  # i = t+1 above such a run: +2**(t+1)
            digit = single.long() - run_bottom.long() + run_top.long()
        _TABLES[encoding] = digit.to(torch.int8).contiguous()
    return _TABLES[encoding]


def term_count_table(encoding: str = "hese", max_abs: int = 128) -> torch.Tensor:
    """Number of terms of every magnitude ``0..max_abs`` (int64)."""
    return (_digit_planes(encoding)[: max_abs + 1] != 0).sum(1)


def term_quantize(x: torch.Tensor, group: int, budget: int, encoding: str = "hese") -> torch.Tensor:
    """Term quantization of integer codes ``x`` (any shape, groups along the last dimension): the
    largest ``budget`` power-of-two terms of every ``group`` consecutive values kept, the rest
    discarded (see the module docstring for the encoding and the tie rule). Returns int64 of x's shape.

    Vectorized per exponent: a value has at most one term per power of two, so with ``n_e`` the
    number of terms of exponent above ``e`` in the group and ``r`` the inclusive count of exponent-``e``
    terms among the values up to this one, a term of exponent ``e`` is kept iff ``n_e + r <= budget``:
    exactly the terms ranked ``1..budget`` by (exponent descending, position ascending).
    """
    _check(group, budget, encoding)
    if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
        raise TypeError(f"term_quantize needs integer codes, got {x.dtype}")
    if x.dim() == 0:
        raise ValueError("term_quantize needs at least one dimension (the group dimension)")
    x = x.to(torch.int64)
    if x.numel() == 0:
        return x.clone()
    mag = x.abs()
    top = int(mag.max())
    if top > MAX_ABS:
        raise ValueError(f"TQ codes must be within +-{MAX_ABS}, got {top}")
    planes = _digit_planes(encoding)[:, : top.bit_length() + 1]  # exponents 0..E-1 that can occur
    *lead, length = x.shape
    pad = (-length) % group
    if pad:
        mag = torch.nn.functional.pad(mag, (0, pad))
    mag = mag.reshape(-1, group)  # one row per group
    # only the groups with more than `budget` terms change
    counts = _term_counts(encoding)[mag.reshape(-1)].reshape(mag.shape).sum(1, dtype=torch.int32)
    over = (counts > budget).nonzero().squeeze(1)
    kept = mag.clone()
    if over.numel():
        sub = mag.index_select(0, over)
        digits = planes.index_select(0, sub.reshape(-1)).reshape(*sub.shape, planes.shape[1])  # [n, g, E]
        present = digits != 0
        per_exp = present.sum(1, dtype=torch.int32)  # [n, E] terms of each exponent
        higher = per_exp.flip(1).cumsum(1).flip(1) - per_exp  # terms of larger exponents
        rank = present.cumsum(1, dtype=torch.int32)  # inclusive, along the group
        keep = present & (rank + higher.unsqueeze(1) <= budget)
        weights = torch.pow(2, torch.arange(planes.shape[1], dtype=torch.int64))
        values = (torch.where(keep, digits, torch.zeros_like(digits)).to(torch.int64) * weights).sum(-1)
        kept.index_copy_(0, over, values)
    kept = kept.reshape(*lead, -1)[..., :length]
    return torch.where(x < 0, -kept, kept)


_COUNTS: dict[str, torch.Tensor] = {}


def _term_counts(encoding: str) -> torch.Tensor:
    if encoding not in _COUNTS:
        _COUNTS[encoding] = (_digit_planes(encoding) != 0).sum(1, dtype=torch.int32).to(torch.int8)
    return _COUNTS[encoding]


def term_quantize_reference(x, group: int, budget: int, encoding: str = "hese") -> torch.Tensor:
    """The plain sequential definition of :func:`term_quantize` (slow; for tests)."""
    _check(group, budget, encoding)
    x = torch.as_tensor(x)
    if x.dtype.is_floating_point or x.dtype == torch.bool:
        raise TypeError(f"term_quantize needs integer codes, got {x.dtype}")
    rows = x.reshape(-1, x.shape[-1]).tolist()
    out = []
    for row in rows:
        result = []
        for start in range(0, len(row), group):
            values = row[start:start + group]
            terms = []  # (exponent, index in group, signed term value)
            for k, v in enumerate(values):
                s = -1 if v < 0 else 1
                for d, e in encode_terms(abs(v), encoding):
                    terms.append((e, k, s * d * (1 << e)))
            terms.sort(key=lambda term: (-term[0], term[1]))
            kept = [0] * len(values)
            for e, k, value in terms[:budget]:
                kept[k] += value
            result += kept
        out.append(result)
    return torch.tensor(out, dtype=torch.int64).reshape(x.shape)


class TQScheme(UniformScheme):
    """TQ on a uniform base model: weights ``wbits`` per output channel, activations int8 per tensor,
    symmetric (the harness's round-to-nearest base); then, in every layer's integer dot, term
    quantization of both operand vectors along the reduction dimension with groups of ``group``
    values: at most ``wterms * group`` terms per weight group (applied once, to the weight codes) and
    ``aterms * group`` per activation group (applied at run time to every activation row), then the
    exact integer dot of what is kept. ``wterms``/``aterms`` are the average terms per value, the
    paper's "w/a" precision (16 one-bit term pairs per multiplication at 4/4, 8 at 2/4).
    """

    def __init__(self, wterms: int = 4, aterms: int = 4, group: int = 8, wbits: int = 8, abits: int = 8,
                 encoding: str = "hese", asymmetric: bool = False):
        if abits != 8 or asymmetric:
            raise ValueError("TQ here computes on int8 symmetric activations (abits=8, symmetric)")
        if wbits not in (4, 8):
            raise ValueError(f"TQ weights are int4 or int8, got wbits={wbits}")
        for name, v in (("wterms", wterms), ("aterms", aterms)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"TQ {name} must be an integer >= 1 (terms per value), got {v!r}")
        _check(group, wterms * group, encoding)
        super().__init__(wbits, 8, False, name="tq")
        self.wterms, self.aterms, self.group, self.encoding = wterms, aterms, group, encoding

    @property
    def label(self) -> str:
        return f"tq[{self.wterms}/{self.aterms},g={self.group},W{self.wbits}A8,{self.encoding}]"

    def config(self) -> dict:
        return {**super().config(), "wterms": self.wterms, "aterms": self.aterms, "group": self.group,
                "weight_budget": self.wterms * self.group, "act_budget": self.aterms * self.group,
                "encoding": self.encoding}

    def quantize_weight(self, w2d: torch.Tensor):
        wq = super().quantize_weight(w2d)
        wq.codes = term_quantize(wq.codes, self.group, self.wterms * self.group, self.encoding)
        return wq

    def int_dot(self, a_codes: torch.Tensor, w_codes: torch.Tensor) -> torch.Tensor:
        a = term_quantize(a_codes, self.group, self.aterms * self.group, self.encoding)
        return int_matmul(a, w_codes)
