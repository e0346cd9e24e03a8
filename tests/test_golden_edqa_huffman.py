"""The eDQA golden shift-error code (`golden.edqa.huffman`): optimal code lengths with the fixed tie
rule, canonical codes, packets that round-trip and that a library decoder (``bitarray``) reads alike,
and each decoding failure on a hand-corrupted packet."""

import heapq
import itertools
import random
from fractions import Fraction

import pytest
import torch
from bitarray import bitarray
from bitarray.util import canonical_decode, canonical_huffman

from golden.edqa import (
    PacketError,
    canonical_codes,
    decode_packet,
    encode_packet,
    huffman_code_lengths,
    packet_bits,
    packet_words,
    shift_error_counts,
)


def heap_huffman_cost(counts) -> int:
    """The minimal total code length, from textbook Huffman on a heap (sum of the merged weights)."""
    heap = [c for c in counts if c > 0]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def kraft(lengths) -> Fraction:
    return sum((Fraction(1, 2**n) for n in lengths if n), Fraction(0))


def random_histograms(rng: random.Random):
    """Histograms of 2^m symbols: zeros, lone symbols, equal counts, powers of two, a dominant symbol,
    ties everywhere, and plain random ones."""
    for m in (1, 2, 3):
        size = 1 << m
        yield [0] * size
        for s in range(size):
            lone = [0] * size
            lone[s] = rng.randint(1, 50)
            yield lone
        yield [7] * size
        yield [1 << rng.randint(0, 6) for _ in range(size)]
        yield [1 << s for s in range(size)]
        yield [1000] + [rng.randint(0, 2) for _ in range(size - 1)]
        for _ in range(120):
            pool = rng.choice([[0, 1, 2], [1, 1, 2, 3], [0, 4, 4, 8], list(range(20)), list(range(4096))])
            yield [rng.choice(pool) for _ in range(size)]


def test_code_lengths_are_optimal_and_complete():
    rng = random.Random(0)
    for counts in random_histograms(rng):
        lengths = huffman_code_lengths(counts)
        occurring = sum(1 for c in counts if c)
        assert [n == 0 for n in lengths] == [c == 0 for c in counts]
        assert max(lengths) <= len(counts) - 1 or occurring <= 1
        if occurring >= 2:
            assert sum(c * n for c, n in zip(counts, lengths)) == heap_huffman_cost(counts), counts
            assert kraft(lengths) == 1, counts
            # bitarray's own Huffman (another tie rule) reaches the same total
            library, _, _ = canonical_huffman({s: c for s, c in enumerate(counts) if c})
            assert sum(c * len(library[s]) for s, c in enumerate(counts) if c) == sum(c * n for c, n in zip(counts, lengths))
        elif occurring == 1:
            assert sorted(lengths)[-1] == 1 and kraft(lengths) == Fraction(1, 2)
        else:
            assert lengths == [0] * len(counts)


@pytest.mark.parametrize(
    "counts, lengths",
    [
        # all equal: {0,1} -> (10, id 0); {2,3} -> (10, id 2); then the two: all length 2
        ([5, 5, 5, 5], [2, 2, 2, 2]),
        # {0,1} -> (2, id 0); (2, id 0) before (2, id 2): {0,1,2} -> (4, id 0); with {3}: 3, 3, 2, 1
        ([1, 1, 2, 4], [3, 3, 2, 1]),
        # {0,1} -> (2, id 0), which ties with {2} and {3} and wins by its identifier: {0,1,2} -> (4, 0),
        # then {3}. A rule that prefers original symbols on ties ({2} with {3} first) gives 2, 2, 2, 2.
        ([1, 1, 2, 2], [3, 3, 2, 1]),
        # the same weights on other identifiers: {2,3} -> (2, id 2) loses the tie to {0} and {1}:
        # {0,1} -> (4, 0), then (2, id 2) with (4, 0): all length 2
        ([2, 2, 1, 1], [2, 2, 2, 2]),
        # {0,1} -> (6, 0), {2,3} -> (6, 2); then (6, 0) and (6, 2) before the leaf (6, 4): 3, 3, 3, 3, 1.
        # A rule that takes leaves first on ties would merge {4} with {0,1}: 3, 3, 2, 2, 2.
        ([3, 3, 3, 3, 6, 0, 0, 0], [3, 3, 3, 3, 1, 0, 0, 0]),
        # {1,2} -> (2, id 1); then (2, 1) with (4, 0) -> (6, 0); then (4, 3) with (6, 0): 2, 3, 3, 1.
        # Ties going to the larger identifier would pair (2, 1) with (4, 3) instead: 1, 3, 3, 2.
        ([4, 1, 1, 4], [2, 3, 3, 1]),
        # {0,3} -> (2, id 0): the merged group keeps the smaller identifier, so it ties first with {1}:
        # {0,3,1} -> (4, 0), then {2}: 3, 2, 1, 3. Keeping the larger (3) would merge {1} with {2}: all 2.
        ([1, 2, 2, 1], [3, 2, 1, 3]),
        # Fibonacci weights: every merge takes the previous group, the deepest tree of 8 symbols
        ([1, 1, 2, 3, 5, 8, 13, 21], [7, 7, 6, 5, 4, 3, 2, 1]),
        ([0, 3, 0, 3, 3, 0, 0, 3], [0, 2, 0, 2, 2, 0, 0, 2]),
        ([0, 0, 9, 0], [0, 0, 1, 0]),
        ([0, 0], [0, 0]),
        ([1, 1], [1, 1]),
    ],
)
def test_tie_rule_by_hand(counts, lengths):
    assert huffman_code_lengths(counts) == lengths
    assert huffman_code_lengths(torch.tensor(counts)) == lengths


def test_canonical_codes():
    # the example of the DEFLATE specification: lengths (3, 3, 3, 3, 3, 2, 4, 4) for A..H
    codes = canonical_codes([3, 3, 3, 3, 3, 2, 4, 4])
    assert codes == [(0b010, 3), (0b011, 3), (0b100, 3), (0b101, 3), (0b110, 3), (0b00, 2), (0b1110, 4), (0b1111, 4)]
    assert canonical_codes([3, 3, 2, 1]) == [(0b110, 3), (0b111, 3), (0b10, 2), (0b0, 1)]
    assert canonical_codes([0, 1, 0, 0]) == [None, (0, 1), None, None]
    assert canonical_codes([0, 0]) == [None, None]
    assert canonical_codes([0, 3, 0, 3]) == [None, (0b000, 3), None, (0b001, 3)]  # an incomplete code
    with pytest.raises(ValueError, match=r"cannot give distinct codes"):
        canonical_codes([1, 1, 1])


def library_decode(words: list[int], count: int) -> list[int]:
    """The payload read by bitarray's canonical decoder with the packet's codebook."""
    lengths = [(words[0] >> (4 * s)) & 15 for s in range(8)]
    per_length = [0] * (max(lengths) + 1)
    for n in lengths:
        if n:
            per_length[n] += 1
    order = [s for n, s in sorted((n, s) for s, n in enumerate(lengths) if n)]
    bits = bitarray(endian="big")
    bits.frombytes(b"".join(w.to_bytes(4, "big") for w in words[2:]))
    decoded = list(canonical_decode(bits[: words[1]], per_length, order))
    assert len(decoded) == count
    return decoded


def check_packet(se: list[int], m: int) -> list[int]:
    words = encode_packet(se, m)
    counts = [se.count(s) for s in range(1 << m)]
    lengths = huffman_code_lengths(counts)
    assert words[0] == sum(n << (4 * s) for s, n in enumerate(lengths))
    assert words[1] == packet_bits(counts) == sum(c * n for c, n in zip(counts, lengths))
    assert len(words) == packet_words(counts) == 2 + -(-words[1] // 32)
    assert len(se) <= words[1] <= len(se) * ((1 << m) - 1)
    assert all(0 <= w < 1 << 32 for w in words)
    assert decode_packet(words, len(se), m) == se
    assert library_decode(words, len(se)) == se
    return words


def test_packets_round_trip():
    rng = random.Random(1)
    for _ in range(300):
        m = rng.choice([1, 2, 3])
        weights = [rng.choice([0, 0, 1, 5, 50]) + 1e-3 for _ in range(1 << m)]
        se = rng.choices(range(1 << m), weights, k=rng.randint(1, 200))
        check_packet(se, m)


def test_every_short_channel_round_trips():
    for m, longest in ((1, 8), (2, 4), (3, 3)):
        for length in range(1, longest + 1):
            for se in itertools.product(range(1 << m), repeat=length):
                check_packet(list(se), m)


def test_one_symbol_and_length_one_channels():
    # one symbol: its code is the single bit 0, so the payload is L zero bits
    assert check_packet([3] * 40, 2) == [1 << 12, 40, 0, 0]
    assert check_packet([0] * 32, 1) == [1, 32, 0]
    assert check_packet([5], 3) == [1 << 20, 1, 0]
    assert check_packet([1], 1) == [1 << 4, 1, 0]
    # two symbols: codes 0 and 1, most significant payload bit first
    assert check_packet([1, 0, 1, 1], 1) == [0x11, 4, 0b1011 << 28]


def test_longest_codes_and_longest_channel():
    fib = [1, 1, 2, 3, 5, 8, 13, 21]
    se = [s for s, c in enumerate(fib) for _ in range(c)]
    words = check_packet(se, 3)
    assert words[:2] == [0x12345677, 132] and len(words) == 7  # lengths 7 7 6 5 4 3 2 1, nibble 0 first
    rng = random.Random(2)
    for m in (1, 2, 3):
        check_packet(rng.choices(range(1 << m), [8 ** -s for s in range(1 << m)], k=4096), m)
        check_packet(rng.choices(range(1 << m), k=4096), m)


def test_shift_error_counts():
    assert shift_error_counts(torch.tensor([0, 3, 3, 1]), 2).tolist() == [1, 1, 0, 2]
    se = torch.tensor([[0, 1, 7], [0, 0, 7], [1, 0, 6]])
    assert shift_error_counts(se, 3).tolist() == [[2, 1, 0, 0, 0, 0, 0, 0], [2, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1, 2]]
    with pytest.raises(ValueError, match=r"shift errors must lie in \[0, 3\]"):
        shift_error_counts(torch.tensor([4]), 2)


# --- decoding failures -----------------------------------------------------------------------------

SE = [0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3] * 5  # m = 2: lengths 3, 3, 2, 1, B = 125 (4 words)


def packet():
    words = encode_packet(SE, 2)
    assert words[1] == 125 and len(words) == 6
    return words


def replace(words, index, value):
    out = list(words)
    out[index] = value
    return out


@pytest.mark.parametrize(
    "words, count, m, message",
    [
        (replace(packet(), 0, packet()[0] | 1 << 16), len(SE), 2, r"^bad codebook: non-zero nibble 1 for symbol 4"),
        (replace(packet(), 0, 0x4), len(SE), 2, r"^bad codebook: length 4 of symbol 0 exceeds 3"),
        (replace(packet(), 0, 0x2), len(SE), 1, r"^bad codebook: length 2 of symbol 0 exceeds 1"),
        (replace(packet(), 0, 0x111), len(SE), 2, r"^bad codebook: lengths \[1, 1, 1, 0\] cannot give distinct codes"),
        (replace(packet(), 0, 0), len(SE), 2, r"^bad codebook: no occurring symbol"),
        ([0x1111], 1, 2, r"^bad codebook"),  # also truncated: the codebook is checked first
        ([], 1, 2, r"^truncated: no codebook word"),
        ([0x1], 1, 2, r"^truncated: no word 1"),
        (packet()[:-1], len(SE), 2, r"^truncated: 5 words, B = 125 needs 6"),
        (replace(packet(), 1, 125 + 32), len(SE), 2, r"^truncated: 6 words, B = 157 needs 7"),
        (replace(packet(), 1, 2**32 - 1), len(SE), 2, r"^truncated"),
        (packet() + [0], len(SE), 2, r"^overlong: 7 words, B = 125 needs 6"),
        (replace(packet(), 1, 125 - 32), len(SE), 2, r"^overlong"),
        (replace(packet(), 1, 126), len(SE), 2, r"^corrupt: the 75 codes take 125 bits, B = 126"),
        (replace(packet(), 1, 124), len(SE), 2, r"^corrupt: code 74 of 75 runs past the B = 124"),
        (packet(), len(SE) + 1, 2, r"^corrupt: code 75 of 76 runs past"),
        (packet(), len(SE) - 1, 2, r"^corrupt: the 74 codes take 124 bits, B = 125"),
        (replace(packet(), 5, packet()[5] | 1), len(SE), 2, r"^corrupt: a non-zero unused bit"),
        # lengths 1, 2 for symbols 0, 1: codes 0 and 10; the bits 11 are no code
        ([0x21, 2, 0b11 << 30], 1, 2, r"^corrupt: payload bits 0 \.\. 1 \(code 0\) are no code"),
        ([0x21, 3, 0b011 << 29], 2, 2, r"^corrupt: payload bits 1 \.\. 2 \(code 1\) are no code"),
        # one symbol of length 1: the bit 1 is no code
        ([0x10, 2, 0b01 << 30], 2, 1, r"^corrupt: payload bits 1 \.\. 1 \(code 1\) are no code"),
    ],
)
def test_decoding_failures(words, count, m, message):
    with pytest.raises(PacketError, match=message) as info:
        decode_packet(words, count, m)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(info.value.kind + ":")


def test_decoding_edges():
    # B = 0 but one element: the first code runs past the payload
    with pytest.raises(ValueError, match=r"^corrupt: code 0 of 1 runs past the B = 0"):
        decode_packet([0x10, 0], 1, 1)
    # codebooks the encoder never writes are still read: one symbol of length 3, an incomplete code
    assert decode_packet([0x30, 6, 0], 2, 2) == [1, 1]
    assert decode_packet([0x21, 3, 0b100 << 29], 2, 2) == [1, 0]
    # m=3, lengths 3, 2, 1 for symbols 4, 5, 6: codes 110, 10, 0 (111 is no code)
    assert decode_packet([0x01230000, 6, 0b010110 << 26], 3, 3) == [6, 5, 4]
    with pytest.raises(ValueError, match=r"^corrupt: payload bits 0 \.\. 2 \(code 0\) are no code"):
        decode_packet([0x01230000, 3, 0b111 << 29], 1, 3)
    # a bit flip inside the payload of a complete code changes the symbols or the code boundaries
    words = packet()
    flipped = replace(words, 2, words[2] ^ (1 << 31))
    try:
        assert decode_packet(flipped, len(SE), 2) != SE
    except PacketError as exc:
        assert exc.kind == "corrupt"


def test_codebook_check_is_kraft_for_every_word():
    """Every m=1 and m=2 codebook word (nibbles above 2^m - 1 zero): accepted exactly when each length
    is at most 2^m - 1, some symbol occurs and sum(2^-length) <= 1."""
    for m in (1, 2):
        size = 1 << m
        for lengths in itertools.product(range(16), repeat=size):
            word = sum(n << (4 * s) for s, n in enumerate(lengths))
            ok = max(lengths) <= size - 1 and any(lengths) and kraft(lengths) <= 1
            with pytest.raises(PacketError) as info:
                decode_packet([word], 1, m)
            assert info.value.kind == ("truncated" if ok else "bad codebook"), lengths


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: encode_packet([0, 1], 4), ValueError, r"m_extra must be 1, 2 or 3 for a packet .* got m_extra=4"),
        (lambda: encode_packet([0, 1], 0), ValueError, r"got m_extra=0"),
        (lambda: encode_packet([0, 1], 2.0), TypeError, r"m_extra must be an int"),
        (lambda: encode_packet([], 2), ValueError, r"se is empty"),
        (lambda: encode_packet([0, 4], 2), ValueError, r"se\[1\] = 4 is not a shift error of m_extra=2"),
        (lambda: encode_packet([0, -1], 2), ValueError, r"se\[1\] must be non-negative"),
        (lambda: encode_packet([0, 1.0], 2), TypeError, r"se\[1\] must be an int"),
        (lambda: decode_packet([1, 1, 0], 0, 1), ValueError, r"count must be a positive int"),
        (lambda: decode_packet([1, 1, 2**32], 1, 1), ValueError, r"words\[2\] = 4294967296 is not a 32-bit word"),
        (lambda: huffman_code_lengths([1, -2]), ValueError, r"counts\[1\] must be non-negative, got -2"),
        (lambda: huffman_code_lengths([1, True]), TypeError, r"counts\[1\] must be an int"),
        (lambda: packet_bits([1, 2], [1]), ValueError, r"counts and lengths differ in length"),
        (lambda: shift_error_counts([0.0], 1), ValueError, r"integer tensor"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
