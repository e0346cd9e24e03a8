"""Test data for the eDQA testbenches: float32 corner cases, random floats over the whole binary32
range, random shift-error channels, and real activations exported from the networks."""

from __future__ import annotations

import fcntl
import os
import random
import struct
from pathlib import Path

import numpy as np

from golden.edqa import scales

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "build" / "sim" / "export"


def f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]


def bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def finite_bits(rng: random.Random) -> int:
    """A random finite float32 pattern, every exponent equally likely (subnormals included)."""
    while True:
        word = rng.getrandbits(32)
        if (word >> 23) & 0xFF != 0xFF:
            return word


def corner_floats(n_bits: int, m_extra: int, absmax: float, important: bool) -> list[int]:
    """Bit patterns that stress the quantizer for this scale: zeros, subnormals, the range ends,
    values at and past ``absmax``, and exact halfway points of the integer rounding in both
    directions (even and odd neighbours), plus float32 neighbours of each halfway point, whose
    product may round onto it."""
    s = scales(n_bits, m_extra, absmax)
    delta = s.delta_nm if important else s.delta_n
    top = (1 << (n_bits + m_extra - 1 if important else n_bits - 1))
    values = [0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000, 0x7F7FFFFF,
              0xFF7FFFFF, bits(absmax), bits(-absmax), bits(absmax) + 1, bits(absmax) - 1, bits(-absmax) + 1]
    if absmax == 0:
        raise ValueError("absmax must be positive")
    for k in list(range(-top - 2, top + 2)) + [top * 4, -top * 4]:
        with np.errstate(over="ignore"):  # past float32's range: inf, dropped below
            half = np.float32((k + 0.5) * delta)  # exactly (k + 1/2) delta when representable
        for pattern in (bits(float(half)) - 1, bits(float(half)), bits(float(half)) + 1):
            values.append(pattern & 0xFFFFFFFF)
    return [v for v in values if (v >> 23) & 0xFF != 0xFF]


def random_channel(length: int, m_extra: int, rng: random.Random) -> list[int]:
    """Shift errors with a random skew: from one dominant symbol to nearly uniform."""
    top = (1 << m_extra) - 1
    skew = rng.random() * 2 + 0.1
    return [min(int(rng.expovariate(skew)), top) if rng.random() < 0.9 else rng.randint(0, top) for _ in range(length)]


def _capture(model: str, max_channels: int):
    """Inputs of one layer of a real network: ``(channels [C, L] float32, absmax)``; the channel is
    the layer input's channel (conv) or feature (Linear), its elements the positions of the samples."""
    import torch

    from golden.models import get_network

    net = get_network(model)
    module = net.load()
    layer = {"digits_cnn": "block1.a.conv", "minilm": "bert.encoder.layer.0.attention.self.query"}[model]
    seen = []
    handle = module.get_submodule(layer).register_forward_hook(lambda mod, args, out: seen.append(args[0].detach()))
    try:
        with torch.no_grad():
            for batch in net.sample_batches(8 if model == "digits_cnn" else 4):
                net.run(module, batch)
    finally:
        handle.remove()
    if seen[0].dim() == 4:  # conv input [B, C, H, W]: a channel's elements are its pixels
        x = torch.cat([t.permute(0, 2, 3, 1).reshape(-1, t.shape[1]) for t in seen])
    else:  # Linear input [B, T, F]: a channel is a feature, its elements the tokens
        x = torch.cat([t.reshape(-1, t.shape[-1]) for t in seen])
    absmax = float(x.abs().max())
    return x.T[:max_channels].contiguous().numpy().astype(np.float32), absmax


def real_activations(model: str, max_channels: int = 16) -> Path:
    """An ``.npz`` of real activations (``channels``, ``absmax``), exported once into
    ``build/sim/export/`` under a lock (parallel test workers share it)."""
    path = EXPORT / f"edqa_{model}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            channels, absmax = _capture(model, max_channels)
            partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
            np.savez(partial, channels=channels, absmax=np.float32(absmax))
            partial.replace(path)
    return path


def core_quantize_cycles(se: list[int], m_extra: int) -> int:
    """:meth:`EdqaCore.quantize_cycles <hdl.edqa.core.EdqaCore.quantize_cycles>` of an important
    channel whose shift errors are ``se``: its symbols, payload bits and last row's bits from the
    golden Huffman code."""
    from golden.edqa import huffman_code_lengths, shift_error_counts
    from hdl.edqa.core import EdqaCore
    from hdl.edqa.huffman_encoder import payload_lanes

    size, lanes = len(se), payload_lanes(m_extra)
    lengths = huffman_code_lengths(shift_error_counts(se, m_extra))
    return EdqaCore.quantize_cycles(size, m_extra, used=len(set(se)), bits=sum(lengths[s] for s in se),
                                    last_row_bits=sum(lengths[s] for s in se[(size - 1) // lanes * lanes:]))


def real_activation_files() -> list[Path]:
    """The real activations of both networks (``digits_cnn``, ``minilm``), exported on first use:
    what the benches read, also when ``make demo`` runs them."""
    return [real_activations(model) for model in ("digits_cnn", "minilm")]


def load_activations(path: str | Path) -> tuple[np.ndarray, float]:
    with np.load(path) as z:
        return z["channels"], float(z["absmax"])


def _odd_divisors(value: int) -> list[int]:
    """The odd divisors of the odd ``value`` (trial division; ``value < 2^26``)."""
    small = [d for d in range(1, int(value ** 0.5) + 1, 2) if value % d == 0]
    return sorted(set(small + [value // d for d in small]))


def product_ties(n_bits: int, m_extra: int, important: bool, count: int = 8) -> list[tuple[float, int]]:
    """``(absmax, x bits)`` pairs whose product ``x * inv`` (``inv`` the channel's float32 reciprocal
    scale) lies exactly halfway between two float32 values, ``k + 1/2`` and the next one up, with
    ``k`` even: round to nearest even keeps ``k + 1/2`` and the integer rounding gives ``k``, where any
    other tie rule of the product would give ``k + 1``. Random floats almost never hit such a tie.

    Construction: the exact product ``T = (k + 1/2) + ulp/2`` is ``M * 2^-(24 - j)`` with the odd
    integer ``M = (2k + 1) 2^(23 - j) + 1`` (``2^j <= k + 1/2``). ``inv = d * 2^b`` for an odd divisor
    ``d < 2^24`` of ``M`` and ``x = (M / d) * 2^a``: both are float32 values. ``absmax`` is then the
    float32 value whose scales give exactly this ``inv`` (tried near ``2^s / inv``); the pair is kept
    only when that round trip holds. Positive and negative ``x`` alternate."""
    s = scales(n_bits, m_extra, 1.0)
    shift = (n_bits + m_extra - 1) if important else (n_bits - 1)  # inv = 2^shift / absmax
    top = 1 << shift
    found = []
    for k in range(2, top - 1, 2):
        j = (k).bit_length() - 1  # 2^j <= k + 1/2 < 2^(j+1)
        numerator = (2 * k + 1) * (1 << (23 - j)) + 1  # T = numerator * 2^-(24 - j)
        per_k = len(found) + 2  # at most two ties per k, so that several k are covered
        for d in _odd_divisors(numerator):
            if len(found) >= per_k:
                break
            if d >= 1 << 24 or numerator // d >= 1 << 24 or d == 1:
                continue
            # inv = d * 2^b near the magnitude of a real scale (absmax near 1): inv ~ 2^shift
            b = shift - (d.bit_length() - 1)
            a = -(24 - j) - b
            inv = np.float32(d * 2.0 ** b)
            x = np.float32((numerator // d) * 2.0 ** a)
            absmax = np.float32(np.float32(top) / inv)
            for candidate in (absmax, np.nextafter(absmax, np.float32(0)), np.nextafter(absmax, np.float32(np.inf))):
                try:
                    got = scales(n_bits, m_extra, float(candidate))
                except ValueError:
                    continue
                if (got.inv_nm if important else got.inv_n) == float(inv):
                    sign = 1 if len(found) % 2 == 0 else -1
                    found.append((float(candidate), bits(float(sign * x))))
                    break
            if len(found) >= count:
                return found
    return found
