"""The baselines of "eDQA: Efficient Deep Quantization of DNN Activations on Edge Devices" (its
section 4.2), as activation-only schemes of the harness: weights float32, every layer input
quantized and de-quantized with one static ``absmax`` per layer (:class:`golden.edqa.layer.ActScheme`).

Direct (:class:`DirectScheme`)
    Uniform symmetric at ``N`` bits, the "other channel" formula of the eDQA semantics for every
    channel: ``q = clamp(round(x * inv_N), -2^(N-1), 2^(N-1) - 1)``, ``x_deq = q * delta_N``,
    ``delta_N = absmax * 2^-(N-1)``. It is eDQA with ``ratio = 0``, computed by the same functions.

PoT (:class:`PoTScheme`, :func:`pot_fake_quant`)
    "1 bit for the sign of value, 1 bit for the sign of exponent, and the remaining bits for
    exponent": with ``E = 2^(N-2) - 1`` (the largest exponent magnitude in ``N - 2`` bits), a value
    is ``sign * 2^(±e) * s``, ``e`` in ``0 .. E``, and the scale ``s = absmax * 2^-E`` puts the
    largest level at ``absmax``. The exponent code ``-0`` repeats ``+0``; we give it to the value 0
    (a ReLU network is full of zeros, and a PoT format without 0 cannot represent them). Levels:
    ``0`` and ``±absmax * 2^-j`` for ``j = 0 .. 2E`` (``N = 3``: ``0, ±absmax/4, ±absmax/2, ±absmax``;
    ``N = 4``: down to ``absmax/64``; ``N = 5``: down to ``absmax * 2^-14``).
    Rounding is to the nearest level **in the log domain**, as classic logarithmic quantization
    does: ``k = round(log2(|x| / s))`` (no ties: the boundaries ``2^(j+1/2)`` are irrational),
    clamped to ``E`` above; ``|x| / s < 2^(-E-1/2)`` (``k < -E``) gives 0. ``k`` is computed exactly
    from the float64 mantissa and exponent of ``|x| / s``.

NoisyQuant (:class:`NoisyQuantScheme`)
    After Liu et al., "NoisyQuant: Noisy Bias-Enhanced Post-Training Activation Quantization for
    Vision Transformers" (CVPR 2023) and its public reference implementation: a fixed noisy bias
    ``b[c]`` per input channel is added before a uniform symmetric ``N``-bit quantizer and removed
    after de-quantization, ``x_deq = Q(x + b) - b`` (the layer then sees ``x_deq``; for a Linear this
    is the paper's ``W Q(x + b) - W b``). Per layer, on the calibration split, in forward order with
    the earlier layers already quantized with their final parameters and the later ones float, three
    grid searches each minimize the mean squared error of the layer's float output
    ``layer(x_deq)`` against ``layer(x)``:

    1. the clipping range ``alpha = absmax * i / clip_steps``, ``i = clip_steps .. 1`` (no noise;
       the quantizer is Direct with ``alpha`` in place of ``absmax``, step ``delta = alpha *
       2^-(N-1)``);
    2. the mean of the bias ``mu = delta * i / mean_steps``, ``i = -mean_steps .. mean_steps - 1``;
    3. its range: ``b = mu + k * delta * u`` with ``u[c] ~ U(-1, 1)`` drawn once per layer (seeded)
       and ``k = i / range_steps``, ``i = 0 .. 2 range_steps - 1``.

    A candidate replaces the best only when strictly better, so ``alpha = absmax``, ``mu = 0`` and
    ``k = 0`` (Direct) are kept unless beaten. The reference implementation draws ``u`` with
    ``randn * 2 - 1`` where the paper specifies a uniform distribution; we follow the paper. Its
    grids are finer (1000 clipping steps, 200 mean steps, 1000 range steps for ViT); ours default to
    50, 10 and 10 (89 candidates per layer) to keep minilm's 36 layers affordable on two cores. At
    most ``rows`` rows of each layer input enter the search (evenly spaced rows; whole images for a
    conv). ``search=False`` gives Direct (``alpha = absmax``, no bias).
"""

from __future__ import annotations

import sys

import torch
from torch import nn

from golden.quant import ActParams, EmulatedConv2d, emulated_layers

from .layer import ActScheme, direct_fake_quant

__all__ = ["DirectScheme", "PoTScheme", "NoisyQuantScheme", "pot_levels", "pot_fake_quant"]


class DirectScheme(ActScheme):
    """Direct: uniform symmetric ``n_bits`` quantization of every channel (the module docstring)."""

    name = "edqa-direct"
    short = "direct"

    def dequantized(self, x2d, params):
        return direct_fake_quant(x2d, self.n_bits, params.extra["absmax"])


# --------------------------------------------------------------------------------------------------
# PoT


def _pot_e(n_bits: int) -> int:
    return (1 << (n_bits - 2)) - 1


def pot_levels(n_bits: int, absmax: float = 1.0) -> list[float]:
    """The non-negative PoT levels at ``n_bits``, ascending: ``0`` and ``absmax * 2^-j``, ``j = 2E .. 0``."""
    e = _pot_e(n_bits)
    return [0.0] + [absmax * 2.0**-j for j in range(2 * e, -1, -1)]


def pot_fake_quant(x2d: torch.Tensor, n_bits: int, absmax: float) -> torch.Tensor:
    """PoT quantization and de-quantization (the module docstring), float32 of the shape of ``x2d``."""
    e = _pot_e(n_bits)
    scale = float(torch.tensor(absmax, dtype=torch.float32)) * 2.0**-e
    t = x2d.double().abs() / scale
    mant, expo = torch.frexp(t)  # t = mant * 2^expo, mant in [0.5, 1)
    k = (expo - (mant < 2.0**-0.5).to(expo.dtype)).clamp(max=e)
    level = torch.ldexp(torch.full_like(t, scale), k)
    level = torch.where((t == 0) | (k < -e), torch.zeros_like(level), level)
    return (torch.sign(x2d.double()) * level).float()


class PoTScheme(ActScheme):
    """PoT: sign, exponent sign and ``N - 2`` exponent bits (the module docstring)."""

    name = "edqa-pot"
    short = "pot"

    def dequantized(self, x2d, params):
        return pot_fake_quant(x2d, self.n_bits, params.extra["absmax"])


# --------------------------------------------------------------------------------------------------
# NoisyQuant


def _as_rows(layer, x: torch.Tensor) -> torch.Tensor:
    """A layer input in its native shape -> ``[rows, C]`` (channels last for a conv)."""
    if isinstance(layer, EmulatedConv2d):
        return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
    return x.reshape(-1, x.shape[-1])


def _from_rows(layer, rows: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, EmulatedConv2d):
        b, c, h, w = like.shape
        return rows.reshape(b, h, w, c).permute(0, 3, 1, 2)
    return rows.reshape(like.shape)


def _search_input(layer, inputs: list[torch.Tensor], rows: int) -> torch.Tensor:
    """At most ``rows`` rows of the captured inputs, evenly spaced (whole images for a conv)."""
    if isinstance(layer, EmulatedConv2d):
        x = torch.cat(inputs)
        per_image = x.shape[2] * x.shape[3]
        keep = max(1, min(x.shape[0], rows // per_image))
        return x[torch.linspace(0, x.shape[0] - 1, keep).round().long()]
    x = torch.cat([_as_rows(layer, t) for t in inputs])
    if x.shape[0] > rows:
        x = x[torch.linspace(0, x.shape[0] - 1, rows).round().long()]
    return x


def _f32(value: float) -> float:
    return float(torch.tensor(value, dtype=torch.float32))


class NoisyQuantScheme(ActScheme):
    """NoisyQuant: a searched clipping range and a fixed per-channel noisy bias (the module docstring)."""

    name = "edqa-noisyquant"
    short = "noisyquant"

    def __init__(self, n_bits: int = 3, search: bool = True, clip_steps: int = 50, mean_steps: int = 10,
                 range_steps: int = 10, rows: int = 8192, seed: int = 0, progress: bool = False):
        super().__init__(n_bits)
        for key, value in (("clip_steps", clip_steps), ("mean_steps", mean_steps), ("range_steps", range_steps), ("rows", rows)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
        self.search = bool(search)
        self.clip_steps, self.mean_steps, self.range_steps, self.rows = clip_steps, mean_steps, range_steps, rows
        self.seed = int(seed)
        self.progress = progress

    @property
    def label(self) -> str:
        return f"noisyquant[N={self.n_bits}]" if self.search else f"noisyquant[N={self.n_bits},no search]"

    def config(self) -> dict:
        return {**super().config(), "search": self.search, "clip_steps": self.clip_steps, "mean_steps": self.mean_steps,
                "range_steps": self.range_steps, "rows": self.rows, "seed": self.seed, "noise": "uniform U(-1, 1) per channel"}

    def act_params(self, stats) -> ActParams:
        params = super().act_params(stats)
        params.extra.update(clip=params.extra["absmax"], bias=None, active=True)
        return params

    def dequantized(self, x2d, params):
        extra = params.extra
        if not extra["active"]:
            return x2d
        if extra["bias"] is None:
            return direct_fake_quant(x2d, self.n_bits, extra["clip"])
        bias = extra["bias"]
        return direct_fake_quant(x2d + bias, self.n_bits, extra["clip"]) - bias

    # -- the search ---------------------------------------------------------------------------------

    def prepare(self, qmodel: nn.Module, calibrate) -> None:
        if not self.search:
            return
        layers = emulated_layers(qmodel)
        for layer in layers.values():
            layer.params.extra["active"] = False
        items = list(layers.items())
        if self.progress:
            from tqdm import tqdm

            items = tqdm(items, desc=f"noisyquant search N={self.n_bits}", unit="layer", file=sys.stderr)
        for index, (name, layer) in enumerate(items):
            inputs = []
            handle = layer.register_forward_pre_hook(lambda module, args: inputs.append(args[0].detach()))
            try:
                calibrate(qmodel)
            finally:
                handle.remove()
            clip, bias = self.search_layer(layer, _search_input(layer, inputs, self.rows), index)
            layer.params.extra.update(clip=clip, bias=bias, active=True)

    def search_layer(self, layer, x: torch.Tensor, index: int):
        """``(alpha, bias)`` of one layer from its input ``x`` (native shape); ``bias`` is None for none."""
        absmax = layer.params.extra["absmax"]
        n = self.n_bits
        x_rows = _as_rows(layer, x)
        target = layer.float_layer(x)

        def loss(clip, bias):
            shifted = x_rows if bias is None else x_rows + bias
            deq = direct_fake_quant(shifted, n, clip)
            if bias is not None:
                deq = deq - bias
            return float(((layer.float_layer(_from_rows(layer, deq, x)) - target).double() ** 2).mean())

        best_clip, best = absmax, loss(absmax, None)
        for i in range(self.clip_steps - 1, 0, -1):
            clip = _f32(absmax * i / self.clip_steps)
            if clip > 0 and (value := loss(clip, None)) < best:
                best_clip, best = clip, value
        delta = best_clip * 2.0 ** -(n - 1)
        gen = torch.Generator().manual_seed(self.seed + index)
        u = torch.rand(x_rows.shape[1], generator=gen, dtype=torch.float32) * 2 - 1
        best_bias = None
        best_mu = 0.0
        for i in range(-self.mean_steps, self.mean_steps):
            if i == 0:
                continue  # mu = 0 without noise is the clip search's best
            mu = delta * i / self.mean_steps
            bias = torch.full_like(u, mu)
            if (value := loss(best_clip, bias)) < best:
                best_bias, best_mu, best = bias, mu, value
        for i in range(1, 2 * self.range_steps):
            bias = (best_mu + (i / self.range_steps) * delta * u).float()
            if (value := loss(best_clip, bias)) < best:
                best_bias, best = bias, value
        return best_clip, best_bias
