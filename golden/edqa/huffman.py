"""eDQA golden model, compression: the Huffman code of a channel's shift errors and its packet.

The shift errors of an important channel (the ``m`` low bits that eDQA, after "eDQA: Efficient Deep
Quantization of DNN Activations on Edge Devices", keeps for it) are Huffman-coded per channel. This
module is the definition of that code and of its packet, which the RTL in ``hdl/edqa`` produces and
reads back bit for bit.

Code lengths (:func:`huffman_code_lengths`)
-------------------------------------------
The symbols are the ``2^m`` shift errors; ``counts[s]`` is how often ``s`` occurs. A symbol that
does not occur has length 0; a lone occurring symbol has length 1. Otherwise each occurring symbol is
a group (weight ``counts[s]``, identifier ``s``) and, while more than one group is left, the group
with the smallest ``(weight, identifier)`` and then the smallest of the others are merged: each of
their symbols gets one bit longer, and the merged group has the sum of the weights and the smaller
identifier. This is Huffman's construction with ties of weight going to the smaller identifier, so
``sum(counts[s] * length[s])`` is minimal; no length exceeds ``2^m - 1``.

Codes (:func:`canonical_codes`)
-------------------------------
Canonical, as in DEFLATE: the occurring symbols sorted by ``(length, symbol)`` take consecutive codes,
the first all zeros, each next one the previous plus one shifted left by the growth in length. The
lengths alone therefore define the code.

Packet (:func:`encode_packet`, :func:`decode_packet`)
-----------------------------------------------------
32-bit words: word 0 is the codebook (the length of symbol ``s`` in bits ``[4s+3:4s]``, higher
nibbles 0), word 1 is ``B``, the payload size in bits, and words ``2 .. 1 + ceil(B / 32)`` are the
payload: the codes of the shift errors in element order, most significant code bit first, payload
bit ``i`` at bit ``31 - i % 32`` of word ``2 + i // 32``, the unused low bits of the last word 0.
One codebook word holds 8 nibbles, so a packet exists for ``1 <= m <= 3`` only.

Decoding a packet of a channel of ``L`` elements raises :class:`PacketError` (a ``ValueError``) whose
message starts with the kind of failure. The checks run in this order and the first failure is
reported:

1. ``bad codebook:`` a length above ``2^m - 1``, a non-zero nibble above symbol ``2^m - 1``, no
   occurring symbol, or ``sum(2^-length) > 1`` (codes that cannot all be distinct);
2. ``truncated:`` fewer than ``2 + ceil(B / 32)`` words (fewer than 2: no ``B`` to read);
3. ``overlong:`` more words than that;
4. ``corrupt:`` within the ``B`` payload bits, a bit sequence that is no code (only possible when
   ``sum(2^-length) < 1``), ``L`` codes that need more than ``B`` bits or fewer, or a non-zero unused
   bit of the last word.

A codebook the encoder never writes (one symbol of length 3, an incomplete code) is still valid: the
decoder accepts any lengths that pass check 1.
"""

from __future__ import annotations

import torch

__all__ = [
    "PACKET_M_EXTRA",
    "PacketError",
    "huffman_code_lengths",
    "canonical_codes",
    "shift_error_counts",
    "packet_bits",
    "packet_words",
    "encode_packet",
    "decode_packet",
]

#: The ``m`` for which a packet is defined (the codebook word holds ``2^m <= 8`` nibbles).
PACKET_M_EXTRA = (1, 2, 3)

_WORD = (1 << 32) - 1


class PacketError(ValueError):
    """A packet that does not decode; ``kind`` is ``"bad codebook"``, ``"corrupt"``, ``"truncated"``
    or ``"overlong"``, and the message starts with ``kind + ":"``."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def _int_list(name: str, values) -> list[int]:
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    out = list(values)
    for i, v in enumerate(out):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name}[{i}] must be an int, got {v!r}")
        if v < 0:
            raise ValueError(f"{name}[{i}] must be non-negative, got {v}")
    return out


def huffman_code_lengths(counts) -> list[int]:
    """The code length of each symbol, by the group-merging rule of the module docstring.

    ``counts``: non-negative ints, one per symbol (any number of symbols).
    """
    counts = _int_list("counts", counts)
    lengths = [0] * len(counts)
    # a group: [weight, identifier, symbols]
    groups = [[c, s, [s]] for s, c in enumerate(counts) if c > 0]
    if len(groups) == 1:
        lengths[groups[0][1]] = 1
    while len(groups) > 1:
        first = min(groups, key=lambda g: (g[0], g[1]))
        groups.remove(first)
        second = min(groups, key=lambda g: (g[0], g[1]))
        groups.remove(second)
        for s in first[2] + second[2]:
            lengths[s] += 1
        groups.append([first[0] + second[0], min(first[1], second[1]), first[2] + second[2]])
    return lengths


def _kraft_excess(lengths: list[int]) -> int:
    """``(sum(2^-length) - 1) * 2^max_length`` over the non-zero lengths: > 0 when over-full."""
    top = max(lengths, default=0)
    return sum(1 << (top - n) for n in lengths if n) - (1 << top)


def canonical_codes(lengths) -> list[tuple[int, int] | None]:
    """The canonical code ``(code, length)`` of each symbol, ``None`` for length 0.

    ``ValueError`` when ``sum(2^-length) > 1`` (no prefix code has these lengths).
    """
    lengths = _int_list("lengths", lengths)
    if _kraft_excess(lengths) > 0:
        raise ValueError(f"lengths {lengths} cannot give distinct codes: sum(2^-length) > 1")
    codes: list[tuple[int, int] | None] = [None] * len(lengths)
    code, previous = -1, 0
    for n, s in sorted((n, s) for s, n in enumerate(lengths) if n):
        code = (code + 1) << (n - previous)
        codes[s] = (code, n)
        previous = n
    return codes


def _check_packet_m(m_extra: int) -> int:
    if isinstance(m_extra, bool) or not isinstance(m_extra, int):
        raise TypeError(f"m_extra must be an int, got {m_extra!r}")
    if m_extra not in PACKET_M_EXTRA:
        raise ValueError(f"m_extra must be 1, 2 or 3 for a packet (8 codebook nibbles), got m_extra={m_extra}")
    return 1 << m_extra


def shift_error_counts(se, m_extra: int) -> torch.Tensor:
    """How often each shift error occurs: ``se`` 1-D gives ``[2^m]``, ``se [rows, C]`` gives ``[C, 2^m]``
    (per channel, i.e. per column). int64."""
    if isinstance(m_extra, bool) or not isinstance(m_extra, int) or m_extra < 1:
        raise ValueError(f"m_extra must be a positive int, got m_extra={m_extra!r}")
    symbols = 1 << m_extra
    se = torch.as_tensor(se)
    if se.dtype.is_floating_point or se.dtype.is_complex or se.dtype == torch.bool or se.dim() not in (1, 2):
        raise ValueError(f"se must be a 1-D or 2-D integer tensor, got {se.dtype} of shape {tuple(se.shape)}")
    se = se.to(torch.int64)
    if se.numel() and (int(se.min()) < 0 or int(se.max()) >= symbols):
        raise ValueError(f"shift errors must lie in [0, {symbols - 1}] for m_extra={m_extra}")
    if se.dim() == 1:
        return torch.bincount(se, minlength=symbols)
    channels = se.shape[1]
    flat = (se + torch.arange(channels, device=se.device) * symbols).flatten()
    return torch.bincount(flat, minlength=channels * symbols).view(channels, symbols)


def packet_bits(counts, lengths=None) -> int:
    """``B = sum(counts[s] * lengths[s])``, the payload bits; ``lengths`` default to the Huffman ones."""
    counts = _int_list("counts", counts)
    lengths = huffman_code_lengths(counts) if lengths is None else _int_list("lengths", lengths)
    if len(lengths) != len(counts):
        raise ValueError(f"counts and lengths differ in length: {len(counts)} and {len(lengths)}")
    return sum(c * n for c, n in zip(counts, lengths))


def packet_words(counts, lengths=None) -> int:
    """The number of 32-bit words of the packet: ``2 + ceil(B / 32)``."""
    return 2 + -(-packet_bits(counts, lengths) // 32)


def encode_packet(se, m_extra: int) -> list[int]:
    """The packet (32-bit words) of a channel's shift errors ``se`` (at least one, each in ``0 .. 2^m - 1``)."""
    symbols = _check_packet_m(m_extra)
    se = _int_list("se", se)
    if not se:
        raise ValueError("a channel has at least one element: se is empty")
    for i, v in enumerate(se):
        if v >= symbols:
            raise ValueError(f"se[{i}] = {v} is not a shift error of m_extra={m_extra} (0 .. {symbols - 1})")
    counts = [0] * symbols
    for v in se:
        counts[v] += 1
    lengths = huffman_code_lengths(counts)
    codes = canonical_codes(lengths)
    bits = packet_bits(counts, lengths)
    if bits > _WORD:
        raise ValueError(f"the payload of {len(se)} elements has {bits} bits, more than word 1 can hold")
    payload = 0
    for v in se:
        code, n = codes[v]
        payload = (payload << n) | code
    words = -(-bits // 32)
    payload <<= 32 * words - bits  # unused bits of the last word: 0
    codebook = sum(n << (4 * s) for s, n in enumerate(lengths))
    return [codebook, bits] + [(payload >> (32 * (words - 1 - w))) & _WORD for w in range(words)]


def _codebook(word: int, m_extra: int, symbols: int) -> list[int]:
    """The lengths of codebook word ``word``, or :class:`PacketError` ``bad codebook``."""
    nibbles = [(word >> (4 * s)) & 15 for s in range(8)]
    for s in range(symbols, 8):
        if nibbles[s]:
            raise PacketError("bad codebook", f"non-zero nibble {nibbles[s]} for symbol {s}, above symbol {symbols - 1}")
    lengths = nibbles[:symbols]
    for s, n in enumerate(lengths):
        if n > symbols - 1:
            raise PacketError("bad codebook", f"length {n} of symbol {s} exceeds {symbols - 1} (m_extra={m_extra})")
    if not any(lengths):
        raise PacketError("bad codebook", "no occurring symbol (all lengths 0)")
    if _kraft_excess(lengths) > 0:
        raise PacketError("bad codebook", f"lengths {lengths} cannot give distinct codes: sum(2^-length) > 1")
    return lengths


def decode_packet(words, count: int, m_extra: int) -> list[int]:
    """The ``count`` shift errors of a packet; :class:`PacketError` (see the module docstring) when
    it does not decode."""
    symbols = _check_packet_m(m_extra)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int (the channel's length), got count={count!r}")
    words = _int_list("words", words)
    for i, w in enumerate(words):
        if w > _WORD:
            raise ValueError(f"words[{i}] = {w} is not a 32-bit word")
    if not words:
        raise PacketError("truncated", "no codebook word")
    lengths = _codebook(words[0], m_extra, symbols)
    if len(words) < 2:
        raise PacketError("truncated", "no word 1 (B)")
    bits = words[1]
    need = 2 + -(-bits // 32)
    if len(words) < need:
        raise PacketError("truncated", f"{len(words)} words, B = {bits} needs {need}")
    if len(words) > need:
        raise PacketError("overlong", f"{len(words)} words, B = {bits} needs {need}")

    # canonical decoding tables: codes of length n are first[n] .. first[n] + per_length[n] - 1
    top = max(lengths)
    order = [s for n, s in sorted((n, s) for s, n in enumerate(lengths) if n)]
    per_length = [0] * (top + 1)
    for n in lengths:
        if n:
            per_length[n] += 1
    payload = 0
    for w in words[2:]:
        payload = (payload << 32) | w
    total = 32 * (need - 2)

    out: list[int] = []
    pos = 0
    for element in range(count):
        code = first = index = 0
        start = pos
        for n in range(1, top + 1):
            if pos >= bits:
                raise PacketError("corrupt", f"code {element} of {count} runs past the B = {bits} payload bits")
            code = (code << 1) | ((payload >> (total - 1 - pos)) & 1)
            pos += 1
            if code - first < per_length[n]:
                out.append(order[index + code - first])
                break
            index += per_length[n]
            first = (first + per_length[n]) << 1
        else:
            raise PacketError("corrupt", f"payload bits {start} .. {pos - 1} (code {element}) are no code")
    if pos != bits:
        raise PacketError("corrupt", f"the {count} codes take {pos} bits, B = {bits}")
    if payload & ((1 << (total - bits)) - 1):
        raise PacketError("corrupt", "a non-zero unused bit in the last payload word")
    return out
