"""Canonical Huffman codes from code lengths, as logic shared by the encoder and the decoder.

The occurring symbols sorted by ``(length, symbol)`` get consecutive codes (the codes of DEFLATE):
the first code of length ``k`` is ``first[k] = sum(count[j] << (k - j) for j < k)`` (``count[j]``
symbols of length ``j``; the sum of shifted terms is an adder tree, not the chain ``(first[k-1] +
count[k-1]) << 1``), and a symbol's code is the first code of its length plus the number of smaller
symbols of that length. Three steps, each worth a register: :func:`counts_and_ranks`,
:func:`first_codes`, :func:`codes_from`.
"""

from amaranth.hdl import Array, Module, Signal

__all__ = ["counts_and_ranks", "first_codes", "codes_from"]


def counts_and_ranks(m: Module, lengths: list, max_bits: int, name: str = "canon"):
    """``(counts, ranks)``: how many symbols have each length ``0..max_bits``, and each symbol's rank
    among the symbols of its length."""
    counts, ranks = [], []
    for k in range(max_bits + 1):
        value = Signal(max_bits + 1, name=f"{name}_count{k}")
        m.d.comb += value.eq(sum((length == k).as_unsigned() for length in lengths))
        counts.append(value)
    for s, length in enumerate(lengths):
        value = Signal(max_bits, name=f"{name}_rank{s}")
        m.d.comb += value.eq(sum((lengths[t] == length).as_unsigned() for t in range(s)))
        ranks.append(value)
    return counts, ranks


def first_codes(m: Module, counts: list, max_bits: int, name: str = "canon") -> list:
    """The first code of each length ``0..max_bits``."""
    first = []
    for k in range(max_bits + 1):
        value = Signal(max_bits, name=f"{name}_first{k}")
        m.d.comb += value.eq(sum((counts[j] << (k - j)) for j in range(1, k)) if k > 1 else 0)
        first.append(value)
    return first


def codes_from(m: Module, lengths: list, first: list, ranks: list, max_bits: int, name: str = "code") -> list:
    """The code of each symbol (right-aligned, ``max_bits`` wide; meaningless for a length of 0)."""
    first_of = Array(first)
    codes = []
    for s, length in enumerate(lengths):
        code = Signal(max_bits, name=f"{name}{s}")
        # Index with just the bits a valid length has, so that the look-up covers every index.
        m.d.comb += code.eq(first_of[length[:max_bits.bit_length()]] + ranks[s])
        codes.append(code)
    return codes
