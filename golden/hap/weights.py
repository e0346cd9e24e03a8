"""HAP weights: channel-level dual precision (4-bit for most output channels, 8-bit for the vulnerable
ones).

Every output channel ``o`` of a layer's weight matrix ``W [O, K]`` is quantized symmetrically on its
own, at ``b_o`` bits, ``b_o`` in {4, 8}: ``scale_o = absmax_o / (2**(b_o - 1) - 1)``,
``code = clamp(round(w * float32(1 / scale_o)), -2**(b_o - 1), 2**(b_o - 1) - 1)`` (``round`` half to
even), the formula of the uniform baselines of :mod:`golden.quant` with a width per channel.

Sensitivity criterion
---------------------
A channel is *vulnerable* when quantizing it to 4 bits changes its outputs most on real inputs. With
``X [N, K]`` the layer's float inputs on the calibration split (im2col rows for a convolution, zero
padding) and ``E_o = W_o - scale4_o * Q4(W_o)`` the channel's 4-bit rounding error, the sensitivity
is the energy of the output error, ``S_o = ||X E_o||^2 = E_o^T (X^T X) E_o``, computed from the Gram
matrix ``X^T X`` (float64) so that the inputs need not be kept. In every layer the
``round(f * O)`` channels of highest ``S_o`` (ties: lower channel index first) get 8 bits, the others
4 bits; ``f`` is the 8-bit fraction, so a layer's average weight width is about ``4 + 4 f`` bits:
``f = 0.15`` gives the poster's 4.6 bits, ``f = 0.4`` its 5.6 bits. The choice is per layer (not one
ranking over the network) because output-error energies of different layers are not comparable, and
it makes each layer's average width the same.
"""

from __future__ import annotations

import math
import numbers

import torch

from golden.quant import WeightQ

__all__ = [
    "WEIGHT_BITS",
    "quantize_channels",
    "rounding_error",
    "gram",
    "channel_sensitivity",
    "eight_bit_count",
    "select_channels",
    "fraction_for_average",
    "average_bits",
]

#: The two weight widths of a channel.
WEIGHT_BITS = (4, 8)


def _matrix(w2d) -> torch.Tensor:
    if not isinstance(w2d, torch.Tensor):
        raise TypeError(f"w2d must be a torch.Tensor, got {type(w2d).__name__}")
    if not w2d.is_floating_point():
        raise TypeError(f"w2d must be a floating-point tensor, got {w2d.dtype}")
    if w2d.dim() != 2 or w2d.numel() == 0:
        raise ValueError(f"w2d must be a non-empty [O, K] matrix, got shape {tuple(w2d.shape)}")
    return w2d.detach().float()


def _bits(bits, channels: int) -> torch.Tensor:
    if isinstance(bits, numbers.Integral) and not isinstance(bits, bool):
        bits = torch.full((channels,), int(bits), dtype=torch.int64)
    if not isinstance(bits, torch.Tensor) or bits.dtype != torch.int64:
        raise TypeError("bits must be an int or an int64 tensor of one width per output channel")
    if bits.shape != (channels,):
        raise ValueError(f"bits must have one width per output channel ({channels}), got shape {tuple(bits.shape)}")
    if not bool(((bits == 4) | (bits == 8)).all()):
        raise ValueError(f"every channel width must be one of {WEIGHT_BITS}")
    return bits


def quantize_channels(w2d: torch.Tensor, bits) -> WeightQ:
    """Codes int64 ``[O, K]`` and float32 scales ``[O]`` of ``w2d``, channel ``o`` at ``bits[o]`` bits
    (``bits``: an int for every channel, or an int64 tensor ``[O]`` of 4 and 8)."""
    w2d = _matrix(w2d)
    bits = _bits(bits, w2d.shape[0])
    qmax = (1 << (bits - 1)) - 1
    absmax = w2d.abs().amax(1)
    scale = torch.where(absmax > 0, absmax / qmax.float(), torch.ones_like(absmax)).float()
    inv = (1.0 / scale).float()
    codes = torch.round(w2d * inv[:, None])
    codes = torch.maximum(torch.minimum(codes, qmax[:, None].float()), (-qmax - 1)[:, None].float())
    return WeightQ(codes.to(torch.int64), scale)


def rounding_error(w2d: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """``W - dequantized(Q_bits(W))``, float64 ``[O, K]``, every channel at ``bits`` bits."""
    wq = quantize_channels(w2d, bits)
    return w2d.detach().double() - wq.codes.double() * wq.scale.double()[:, None]


def gram(x2d: torch.Tensor) -> torch.Tensor:
    """``X^T X`` float64 ``[K, K]`` of inputs ``X [N, K]`` (sums of several batches add up)."""
    if not isinstance(x2d, torch.Tensor) or x2d.dim() != 2:
        raise ValueError("x2d must be an [N, K] tensor")
    x = x2d.detach().double()
    return x.T @ x


def channel_sensitivity(w2d: torch.Tensor, gram_matrix: torch.Tensor) -> torch.Tensor:
    """``S_o = E_o^T G E_o`` float64 ``[O]``: the energy of channel ``o``'s output error when it is
    quantized to 4 bits, on the inputs whose Gram matrix is ``G``."""
    err = rounding_error(w2d, 4)
    if gram_matrix.shape != (err.shape[1], err.shape[1]):
        raise ValueError(f"gram_matrix must be [{err.shape[1]}, {err.shape[1]}], got {tuple(gram_matrix.shape)}")
    return ((err @ gram_matrix.double()) * err).sum(1)


def _fraction(fraction) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"fraction must be a number, got {fraction!r}")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must lie in 0..1, got {fraction!r}")
    return float(fraction)


def eight_bit_count(channels: int, fraction: float) -> int:
    """``round(fraction * channels)``, halves rounded up: the number of 8-bit channels of a layer."""
    return min(channels, math.floor(_fraction(fraction) * channels + 0.5))


def select_channels(sensitivity: torch.Tensor, fraction: float) -> torch.Tensor:
    """Channel widths int64 ``[O]``: 8 for the :func:`eight_bit_count` most sensitive channels (ties:
    lower index first), 4 for the others."""
    if not isinstance(sensitivity, torch.Tensor) or sensitivity.dim() != 1:
        raise ValueError("sensitivity must be a 1-D tensor, one value per output channel")
    n8 = eight_bit_count(sensitivity.numel(), fraction)
    order = sorted(range(sensitivity.numel()), key=lambda o: (-float(sensitivity[o]), o))
    bits = torch.full((sensitivity.numel(),), 4, dtype=torch.int64)
    bits[order[:n8]] = 8
    return bits


def fraction_for_average(average: float) -> float:
    """The 8-bit fraction ``f`` whose layers average ``4 + 4 f`` = ``average`` bits (4.6 -> 0.15)."""
    if isinstance(average, bool) or not isinstance(average, numbers.Real):
        raise TypeError(f"average must be a number, got {average!r}")
    if not 4.0 <= float(average) <= 8.0:
        raise ValueError(f"average weight bits must lie in 4..8, got {average!r}")
    return round((float(average) - 4.0) / 4.0, 12)


def average_bits(layers) -> float:
    """Average weight width over every weight of a network: ``layers`` is an iterable of
    ``(bits [O], K)``, one per layer (a channel holds ``K`` weights)."""
    total = weights = 0
    for bits, k in layers:
        total += int(bits.sum()) * int(k)
        weights += bits.numel() * int(k)
    if weights == 0:
        raise ValueError("no layer given")
    return total / weights
