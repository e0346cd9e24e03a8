"""WAPS calibration of one layer and of ``digits_cnn``, and the export of a layer to integers.

The paper ("WAPS-Quant: Low-Bit Post-Training Quantization Using Weight-Activation Product Scaling",
IEEE Access, section III-D) learns, per layer, on a small calibration set:

* the rounding of every weight (AdaRound): ``w = s_w[o] * clamp(floor(W / s_w[o]) + h(V), qmin, qmax)``
  with the rectified sigmoid ``h(V) = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1)``, zeta 1.1,
  gamma -0.1 (:func:`rectified_sigmoid`);
* the scale group of every input channel ``c``: ``R [C, 3]``, the rectified softmax
  ``s(R)[c, p] = clamp(softmax(R[c])[p] * (zeta - gamma) + gamma, 0, 1)`` (:func:`rectified_softmax`)
  and the channel's product scale ``gamma_y[c] = sum_p G[p] s(R)[c, p] / sum_p s(R)[c, p]`` over the
  group scales ``G = (1, 1 - 2^-n, 1 + 2^-n)`` (:func:`channel_scales`);
* an output-channel scale and offset ``gamma_z[o]``, ``phi_z[o]``:
  ``z[o] = gamma_z[o] * sum_c gamma_y[c] * (w * x)[o, c] + b[o] + phi_z[o]``;

minimising ``||act(Z) - act(z)||^2`` (sum over channels, mean over samples and positions; ``act`` the
layer's ReLU when it has one) plus ``lambda * (sum (1 - |2 h(V) - 1|^beta) + sum (1 - |2 s(R) - 1|^beta))``,
``beta`` annealed from 20 to 2 after a warm-up without the regulariser. ``Z`` is the float layer's
output on the float network's input; ``x`` is the quantized network's input (every earlier layer
already calibrated and exported), so that a layer also corrects what earlier layers left. Then the
decisions are made hard (``h = [V >= 0]``, group ``argmax R``) and the layer is a :class:`LayerResult`.

:func:`export` writes a :class:`LayerResult` as a :class:`~golden.waps.layer.WapsLayer` (fixed-point
requantization); :func:`fake_quant` is the same layer in float64, the meaning the export keeps to
within one output code. The rows of the study: ``rtn`` (round to nearest, scale 1 everywhere),
``round_only`` (learned rounding only), ``waps_nozp`` (rounding and groups) and ``waps`` (rounding,
groups, ``gamma_z``/``phi_z``); :class:`CalibConfig` holds the switches.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from .layer import WapsLayer
from .network import FEEDS, LAYERS, RELU, act_codes, act_scale, record_inputs, tapped, taps

__all__ = [
    "ZETA", "GAMMA", "MULT_BITS", "OUT_BITS", "CalibConfig", "LayerResult",
    "rectified_sigmoid", "rectified_softmax", "channel_scales", "group_scales", "weight_scales",
    "calibrate_layer", "fake_quant", "export", "export_grouped", "calibrate_network", "NetworkResult",
]

ZETA, GAMMA = 1.1, -0.1
#: Signed bits of the requantization multiplier (the shift is chosen so that it fits).
MULT_BITS = 16
#: Signed output bits of the layers whose output is not the next layer's input (residual, logits).
OUT_BITS = 8


def rectified_sigmoid(v: torch.Tensor) -> torch.Tensor:
    """``h(V) = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1)``."""
    return (torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA).clamp(0, 1)


def rectified_softmax(r: torch.Tensor) -> torch.Tensor:
    """``s(R) = clamp(softmax(R, last axis) * (zeta - gamma) + gamma, 0, 1)``."""
    return (torch.softmax(r, dim=-1) * (ZETA - GAMMA) + GAMMA).clamp(0, 1)


def group_scales(n: int) -> torch.Tensor:
    """The group scales in select order: ``(1, 1 - 2^-n, 1 + 2^-n)``, float64."""
    return torch.tensor([1.0, 1.0 - 2.0**-n, 1.0 + 2.0**-n], dtype=torch.float64)


def channel_scales(r: torch.Tensor, n: int) -> torch.Tensor:
    """``gamma_y[c] = sum_p G[p] s(R)[c, p] / sum_p s(R)[c, p]`` for ``R [C, 3]``."""
    s = rectified_softmax(r)
    return (s * group_scales(n).to(s.dtype)).sum(-1) / s.sum(-1)


def weight_scales(w: torch.Tensor, bits: int, steps: int = 80) -> torch.Tensor:
    """Per output channel, the symmetric scale ``r * absmax / 2^(bits-1)`` (``r`` in ``1/steps ..
    1``, times ``2^(bits-1) / (2^(bits-1) - 1)`` at the top) with the least squared error of the
    round-to-nearest codes clamped to ``[-2^(bits-1), 2^(bits-1) - 1]``; float64 ``[O]``."""
    w2 = w.detach().double().reshape(w.shape[0], -1)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    absmax = w2.abs().amax(1).clamp_min(1e-12)
    best = absmax / hi
    best_err = torch.full_like(absmax, float("inf"))
    for i in range(1, steps + 1):
        scale = absmax * i / steps / (2 ** (bits - 1)) * ((2 ** (bits - 1)) / hi if i == steps else 1.0)
        err = ((torch.round(w2 / scale[:, None]).clamp(lo, hi) * scale[:, None] - w2) ** 2).sum(1)
        better = err < best_err
        best, best_err = torch.where(better, scale, best), torch.where(better, err, best_err)
    return best


@dataclass(frozen=True)
class CalibConfig:
    """What one calibration learns and how long.

    ``rounding`` (learn ``V``; else round to nearest), ``groups`` (learn ``R``; else every channel has
    scale 1), ``affine`` (learn ``gamma_z``, ``phi_z``; else 1 and 0); ``iterations`` per layer of
    Adam (``lr``) on batches of ``batch`` calibration images; ``lam`` the regulariser weight of both
    ``h(V)`` and ``s(R)`` (the paper sets them equal); ``warmup`` the fraction of iterations without
    the regulariser; ``beta`` annealed linearly from ``beta[0]`` to ``beta[1]`` over the rest;
    ``first_last_bits``: the first and the last layer with 8-bit weights and input activations (the
    paper's setting) when 8, or at ``w_bits``/``a_bits`` when None.
    """

    w_bits: int = 4
    a_bits: int = 4
    n: int = 4
    rounding: bool = True
    groups: bool = True
    affine: bool = True
    iterations: int = 1000
    batch: int = 32
    lr: float = 1e-2
    lam: float = 0.01
    warmup: float = 0.2
    beta: tuple = (20.0, 2.0)
    seed: int = 0
    first_last_bits: int | None = None

    def __post_init__(self):
        for name in ("w_bits", "a_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if not 2 <= value <= 8:
                raise ValueError(f"{name} must be in 2..8, got {value}")
        if not isinstance(self.iterations, int) or self.iterations < 0:
            raise ValueError(f"iterations must be an int >= 0, got {self.iterations!r}")
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n must be an int >= 1, got {self.n!r}")
        if self.first_last_bits not in (None, 8):
            raise ValueError(f"first_last_bits must be None or 8, got {self.first_last_bits!r}")

    def bits(self, name: str) -> tuple[int, int]:
        """``(w_bits, a_bits)`` of layer ``name``."""
        if self.first_last_bits and name in (LAYERS[0], LAYERS[-1]):
            return self.first_last_bits, self.first_last_bits
        return self.w_bits, self.a_bits

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class LayerResult:
    """A calibrated layer in float terms, channels in the order of the network it belongs to.

    ``codes`` int64 weight codes (the layer's weight shape); ``s_w`` float64 ``[O]``; ``selects``
    int64 ``[C]``, the group select of every input channel; ``gamma_z``, ``phi_z``, ``bias`` float64
    ``[O]``; ``s_x``, ``s_out`` the input and output scales; ``losses`` the reconstruction loss before
    and after calibration on the calibration set.
    """

    name: str
    codes: torch.Tensor
    s_w: torch.Tensor
    selects: torch.Tensor
    gamma_z: torch.Tensor
    phi_z: torch.Tensor
    bias: torch.Tensor
    s_x: float
    s_out: float
    relu: bool
    w_bits: int
    a_bits: int
    out_bits: int
    n: int
    stride: int = 1
    padding: int = 0
    losses: dict = field(default_factory=dict)

    @property
    def conv(self) -> bool:
        return self.codes.dim() == 4


def _layer_out(x: torch.Tensor, w: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    if w.dim() == 4:
        return F.conv2d(x, w, None, stride, padding)
    return x @ w.T


def _per_channel(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``v [C]`` shaped to broadcast along axis 1 of ``like``."""
    return v.reshape(1, -1, *([1] * (like.dim() - 2)))


def fake_quant(result: LayerResult, x_codes: torch.Tensor, quantize_output: bool = True,
               floor_shift: bool = False) -> torch.Tensor:
    """The calibrated layer in float64 on input codes: ``gamma_z * sum_c G[sel[c]] * (w * x)`` scaled by
    ``s_x s_w`` plus ``b + phi_z``, ReLU when the layer has one; with ``quantize_output`` the output
    codes ``clamp(floor(z / s_out + 1/2), lo, hi)`` (round half up, as the export's rounding constant).

    ``floor_shift``: scale the integer partial sum ``S`` of each select's channels (the groups of
    :func:`export_grouped`) as the hardware does (``S - floor(S /
    2^n)``, ``S + floor(S / 2^n)``; every value an exact integer in float64) instead of by the real
    ``1 -/+ 2^-n``; the export then differs only by its rounded multiplier and bias."""
    w_codes = result.codes.double()
    x = x_codes.double()
    if floor_shift:
        total = 0
        for sel in range(3):  # one partial sum per select, as export_grouped groups the channels
            mask = _per_channel((result.selects == sel).double(), x)
            partial = _layer_out(x * mask, w_codes, result.stride, result.padding)
            shifted = torch.floor(partial / 2.0**result.n)
            total = total + (partial, partial - shifted, partial + shifted)[sel]
    else:
        total = _layer_out(x * _per_channel(group_scales(result.n)[result.selects], x), w_codes,
                           result.stride, result.padding)
    z = total * _per_channel(result.s_x * result.s_w * result.gamma_z, total)
    z = z + _per_channel(result.bias + result.phi_z, z)
    if result.relu:
        z = z.clamp_min(0)
    if not quantize_output:
        return z
    lo, hi = (0, 2**result.out_bits - 1) if result.relu else (-(2 ** (result.out_bits - 1)), 2 ** (result.out_bits - 1) - 1)
    return torch.floor(z / result.s_out + 0.5).clamp(lo, hi).to(torch.int64)


def _runs(selects: torch.Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Run lengths of the select vector: ``(group_sizes, group_selects)``, adjacent equal runs merged."""
    sizes, sels = [], []
    for s in selects.tolist():
        if sels and sels[-1] == s:
            sizes[-1] += 1
        else:
            sizes.append(1)
            sels.append(int(s))
    return tuple(sizes), tuple(sels)


def export(result: LayerResult) -> WapsLayer:
    """The integer layer: groups are the runs of equal selects in channel order (three runs once the
    channels are permuted, :mod:`golden.waps.permute`); ``multiplier = round(s_x s_w gamma_z / s_out
    2^shift)`` on :data:`MULT_BITS` signed bits with the largest such ``shift``, ``bias =
    round((b + phi_z) / s_out 2^shift) + 2^(shift-1)``."""
    real = result.s_x * result.s_w * result.gamma_z / result.s_out
    top = float(real.abs().max())
    shift = max(0, math.floor(math.log2((2 ** (MULT_BITS - 1) - 1) / top))) if top > 0 else 0
    multiplier = torch.round(real * 2.0**shift).to(torch.int64)
    bias = torch.round((result.bias + result.phi_z) / result.s_out * 2.0**shift).to(torch.int64)
    if shift:
        bias = bias + 2 ** (shift - 1)
    sizes, sels = _runs(result.selects)
    return WapsLayer(weight=result.codes.clone(), group_sizes=sizes, group_selects=sels, n=result.n,
                     multiplier=multiplier, bias=bias, shift=shift, relu=result.relu,
                     w_bits=result.w_bits, a_bits=result.a_bits, out_bits=result.out_bits,
                     stride=result.stride, padding=result.padding)


def export_grouped(result: LayerResult) -> tuple[WapsLayer, torch.Tensor]:
    """The integer layer reading its input channels in group order: ``(layer, order)`` with ``order``
    the stable sort of the channels by select (the identity once the network is permuted for this
    layer); the layer's weight columns are in that order and its input is ``x[:, order]``. Every
    select is then one contiguous group (at most 3), so ``T`` sums each select's channels exactly
    once, whatever the network's channel order."""
    order = torch.sort(result.selects, stable=True).indices
    return export(replace(result, codes=result.codes[:, order].contiguous(), selects=result.selects[order])), order


def _loss(z: torch.Tensor, target: torch.Tensor, relu: bool) -> torch.Tensor:
    if relu:
        z, target = F.relu(z), F.relu(target)
    return (z - target).pow(2).sum(1).mean()


def _round_reg(p: torch.Tensor, beta: float) -> torch.Tensor:
    return (1 - (2 * p - 1).abs().pow(beta)).sum()


def calibrate_layer(layer: nn.Module, name: str, x_codes: torch.Tensor, target: torch.Tensor, *,
                    s_x: float, s_out: float, out_bits: int, config: CalibConfig,
                    progress=None) -> LayerResult:
    """Calibrate one float ``layer`` (``nn.Conv2d`` or ``nn.Linear`` with bias) on its quantized
    input codes ``x_codes`` against its float output ``target`` (see the module docstring)."""
    w_bits, a_bits = config.bits(name)
    weight = layer.weight.detach().double()
    bias = layer.bias.detach().double() if layer.bias is not None else torch.zeros(weight.shape[0], dtype=torch.float64)
    stride = layer.stride[0] if isinstance(layer, nn.Conv2d) else 1
    padding = layer.padding[0] if isinstance(layer, nn.Conv2d) else 0
    relu = RELU[name]
    s_w = weight_scales(weight, w_bits)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    lo, hi = -(2 ** (w_bits - 1)), 2 ** (w_bits - 1) - 1
    scaled = weight / s_w.reshape(shape)
    floor = torch.floor(scaled)
    channels = weight.shape[1]
    # the optimisation runs in float32 (about twice as fast as float64 on a CPU); the codes and the
    # scales of the result are exact integers and float64
    dt = torch.float32
    x_real = (x_codes.double() * s_x).to(dt)
    target = target.to(dt)
    floor_t, s_w_t, bias_t = floor.to(dt), s_w.to(dt).reshape(shape), bias.to(dt)
    nearest = (torch.round(scaled) - floor).to(dt)
    ones = torch.ones(channels, dtype=dt)

    # learnable parameters, initialised at round to nearest, scale 1, gamma_z 1, phi_z 0
    rest = (scaled - floor).clamp(1e-4, 1 - 1e-4)
    v = torch.logit(((rest - GAMMA) / (ZETA - GAMMA)).clamp(1e-4, 1 - 1e-4)).to(dt).requires_grad_(config.rounding)
    r = torch.zeros(channels, 3, dtype=dt, requires_grad=config.groups)
    gamma_z = torch.ones(weight.shape[0], dtype=dt, requires_grad=config.affine)
    phi_z = torch.zeros(weight.shape[0], dtype=dt, requires_grad=config.affine)

    def output(x, hard: bool):
        if hard:
            h = (v >= 0).to(dt) if config.rounding else nearest
            gy = group_scales(config.n).to(dt)[r.argmax(-1)] if config.groups else ones
        else:
            h = rectified_sigmoid(v) if config.rounding else nearest
            gy = channel_scales(r, config.n) if config.groups else ones
        w = (floor_t + h).clamp(lo, hi) * s_w_t
        z = _layer_out(x * _per_channel(gy, x), w, stride, padding)
        return z * _per_channel(gamma_z, z) + _per_channel(bias_t + phi_z, z)

    with torch.no_grad():
        loss_before = float(_loss(output(x_real, True), target, relu))
    params = [p for p in (v, r, gamma_z, phi_z) if p.requires_grad]

    def _optimise():
        opt = torch.optim.Adam(params, lr=config.lr)
        gen = torch.Generator().manual_seed(config.seed)
        warm = int(config.warmup * config.iterations)
        for it in range(config.iterations):
            idx = torch.randint(0, x_real.shape[0], (min(config.batch, x_real.shape[0]),), generator=gen)
            loss = _loss(output(x_real[idx], False), target[idx], relu)
            if it >= warm:
                frac = (it - warm) / max(1, config.iterations - warm)
                beta = config.beta[0] + (config.beta[1] - config.beta[0]) * frac
                reg = 0
                if config.rounding:
                    reg = reg + _round_reg(rectified_sigmoid(v), beta)
                if config.groups:
                    reg = reg + _round_reg(rectified_softmax(r), beta)
                loss = loss + config.lam * reg
            opt.zero_grad()
            loss.backward()
            opt.step()
            if progress is not None:
                progress.update(1)

    if params and config.iterations:
        with torch.enable_grad():  # also when called under no_grad (quantize_model's prepare)
            _optimise()
    with torch.no_grad():
        loss_after = float(_loss(output(x_real, True), target, relu))
        h = (v >= 0).double() if config.rounding else torch.round(scaled) - floor
        codes = (floor + h).clamp(lo, hi).to(torch.int64)
        gamma_z, phi_z = gamma_z.double(), phi_z.double()
        selects = r.argmax(-1).to(torch.int64) if config.groups else torch.zeros(channels, dtype=torch.int64)
    return LayerResult(name=name, codes=codes, s_w=s_w, selects=selects, gamma_z=gamma_z.detach().clone(),
                       phi_z=phi_z.detach().clone(), bias=bias, s_x=s_x, s_out=s_out, relu=relu,
                       w_bits=w_bits, a_bits=a_bits, out_bits=out_bits, n=config.n, stride=stride,
                       padding=padding, losses={"before": loss_before, "after": loss_after})


@dataclass
class NetworkResult:
    """A calibrated ``digits_cnn``: the float model (its channel order), the per-layer results and the
    tapped model running every layer as its exported integer layer."""

    model: nn.Module
    layers: dict
    config: CalibConfig
    seconds: float

    def integer_model(self) -> nn.Module:
        """A :func:`~golden.waps.network.tapped` copy of :attr:`model` with every layer exported."""
        qmodel = tapped(self.model)
        for name, tap in taps(qmodel).items():
            res = self.layers[name]
            tap.waps, tap.in_order = export_grouped(res)
            tap.s_x, tap.s_out = res.s_x, res.s_out
        return qmodel


def calibrate_network(model: nn.Module, images: torch.Tensor, config: CalibConfig,
                      progress: bool = False) -> NetworkResult:
    """Calibrate every layer of the folded ``digits_cnn`` ``model`` in order on the calibration
    ``images`` (deterministic: seeded, one thread). Activation scales come first, from the float
    network's layer inputs (:func:`~golden.waps.network.act_scale`); a ReLU layer's output scale is
    the input scale of the layer it feeds, the others have :data:`OUT_BITS` signed outputs scaled to
    their float range on the calibration set."""
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    bar = None
    try:
        fmodel = tapped(model)
        float_inputs = {name: record_inputs(fmodel, name, images) for name in LAYERS}
        float_taps = taps(fmodel)
        s_x = {name: act_scale(float_inputs[name], config.bits(name)[1]) for name in LAYERS}
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(LAYERS) * config.iterations, desc="waps calibrate", unit="it")
        qmodel = tapped(model)
        qtaps = taps(qmodel)
        results = {}
        for name in LAYERS:
            layer = float_taps[name].layer
            with torch.no_grad():
                target = layer(float_inputs[name]).double()
            if name in FEEDS:
                s_out, out_bits = s_x[FEEDS[name]], config.bits(FEEDS[name])[1]
            else:
                top = float(target.abs().max())
                out_bits = OUT_BITS
                s_out = top / (2 ** (OUT_BITS - 1) - 1) if top > 0 else 1.0
            x_codes = act_codes(record_inputs(qmodel, name, images), s_x[name], config.bits(name)[1])
            res = calibrate_layer(layer, name, x_codes, target, s_x=s_x[name], s_out=s_out, out_bits=out_bits,
                                  config=config, progress=bar)
            results[name] = res
            qtaps[name].waps, qtaps[name].in_order = export_grouped(res)
            qtaps[name].s_x, qtaps[name].s_out = res.s_x, res.s_out
    finally:
        torch.set_num_threads(threads)
        if bar is not None:
            bar.close()
    return NetworkResult(model=copy.deepcopy(model).eval(), layers=results, config=config,
                         seconds=time.perf_counter() - start)
