"""Quantization plumbing: schemes, emulated layers, and how a scheme plugs into a network.

Every quantization scheme (the uniform baselines of :class:`UniformScheme`; SBQ, eDQA, WAPS, HAP
later) is a :class:`Scheme`. :func:`quantize_model` replaces each ``nn.Linear`` / ``nn.Conv2d`` of a
model by an emulated layer (:class:`EmulatedLinear`, :class:`EmulatedConv2d`) that computes with the
scheme's integer arithmetic, after calibrating the activation ranges on a calibration split.

What one emulated layer computes
--------------------------------
1. Weights, once: ``w_codes, w_scale = scheme.quantize_weight(W2d)`` with ``W2d`` of shape ``[O, L]``
   (``L = in_features``; for a conv ``L = C * kh * kw`` in ``weight.reshape(O, -1)`` order).
2. Activations, per call: the layer input as a 2-D matrix ``[rows, features]`` (tokens x
   in_features for Linear; pixels x channels, channels last, for Conv2d) is quantized by
   ``scheme.quantize_act(x2d, params) -> ActQ(codes, scale, zero_point)`` with ``params`` fixed by
   ``scheme.act_params(stats)`` from the calibration statistics.
3. Conv2d: the code feature map is padded with the zero point (the code of the real value 0) and
   unfolded (im2col) into ``a_codes [N, L]``, ``N = B * Ho * Wo``. Linear: ``a_codes [N, L]``, ``N = rows``.
4. The integer core, the ONE hook a scheme overrides to model its hardware:
   ``scheme.int_dot(a_codes int64 [N, L], w_codes int64 [O, L]) -> int64 [N, O]``.
   The default is the exact integer matmul (int64, exact while ``L * max|a| * max|w| < 2**63``).
5. Zero point: ``acc = int_dot(a, w) - z * sum_l w[o, l]`` in int64, which equals
   ``sum_l (a - z) * w`` exactly. Symmetric activations have ``z = 0`` and signed codes; asymmetric
   ones have unsigned codes ``0 .. 2**abits - 1`` and an integer ``z`` in the same range, and the
   hardware sees the unsigned codes (the zero-point term is a per-output-channel constant).
6. Output: ``y = float32(float64(acc) * (a_scale * w_scale[o])) + bias`` (float only after the
   integer accumulation).

Baselines (round to nearest, ``torch.round`` = half to even, scale applied as a multiplication by
the float32 reciprocal): weights symmetric per output channel, ``scale = absmax / (2**(b-1) - 1)``,
codes clamped to ``[-2**(b-1), 2**(b-1) - 1]``; activations per tensor, symmetric (same formula
with the calibrated absmax) or asymmetric (``scale = (hi - lo) / (2**b - 1)`` over a range that
contains 0, ``z = round(-lo / scale)``). The names schemes are looked up by (``int8``, ``w4a8``,
``sbq``, ...) are in the registry, :mod:`golden.schemes`; this module imports nothing of it and
nothing of the accelerators.

A new scheme in ten lines, in the accelerator's package ``golden/<acc>/__init__.py`` (here a
simplified SBQ; ``golden.sbq`` declares the real one)::

    from golden.quant import UniformScheme
    from .model import dot

    class MyScheme(UniformScheme):
        def __init__(self, budget=3, comp=1, depth=4):
            super().__init__(wbits=4, abits=8, asymmetric=False, name="mine")
            self.budget, self.comp, self.depth = budget, comp, depth

        def int_dot(self, a_codes, w_codes):
            return dot(a_codes, w_codes, self.budget, self.comp, self.depth, lanes=16)

    SCHEMES = {"mine": MyScheme}  # collected by golden.schemes for every accelerator in qaccel.ACCELERATORS

and then ``python -m golden.evaluate --model digits_cnn --scheme mine --opt budget=2 --limit 100``.
An ad-hoc scheme outside any accelerator is registered with
``golden.schemes.register_scheme("mine", MyScheme)``.

Activation-only schemes
-----------------------
A scheme with ``act_only = True`` quantizes the activations only (eDQA and the baselines of its
paper): the weights stay float32 (``quantize_weight`` and ``int_dot`` are never called) and, in
``"quant"`` mode, the emulated layer computes ``float_layer(x_deq)`` where the layer input, seen as
``[rows, features]`` as above (features = the input channels of a conv, the input features of a
Linear), is replaced by ``x_deq = scheme.fake_quant_act(x2d, params)``: its float32 de-quantized
values, same shape. A conv pads ``x_deq`` with zeros, as the float conv does.

Every scheme may override ``prepare(qmodel, calibrate)``: :func:`quantize_model` calls it once,
after every layer is frozen, with the quantized model and the calibration routine, for parameters
that need a search on the calibrated model (a channel ranking, a noise search).
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ActQ",
    "ActParams",
    "ActStats",
    "WeightQ",
    "Scheme",
    "UniformScheme",
    "EmulatedLinear",
    "EmulatedConv2d",
    "emulated_layers",
    "quantize_model",
    "int_matmul",
    "im2col",
]


# --------------------------------------------------------------------------------------------------
# Data carried between the scheme and the layers


@dataclass
class WeightQ:
    """Quantized weights: ``codes`` int64 ``[O, L]``, ``scale`` float32 ``[O]`` (value = code * scale)."""

    codes: torch.Tensor
    scale: torch.Tensor


@dataclass
class ActStats:
    """Calibration statistics of a layer input, seen as ``[rows, features]``."""

    lo: float = float("inf")
    hi: float = float("-inf")
    absmax_per_feature: torch.Tensor | None = None  # float32 [features]
    rows: int = 0

    def update(self, x2d: torch.Tensor) -> None:
        x2d = x2d.detach().float()
        if not bool(torch.isfinite(x2d).all()):
            raise ValueError("non-finite activation during calibration")
        self.lo = min(self.lo, float(x2d.min()))
        self.hi = max(self.hi, float(x2d.max()))
        amax = x2d.abs().amax(0)
        self.absmax_per_feature = (
            amax if self.absmax_per_feature is None else torch.maximum(self.absmax_per_feature, amax)
        )
        self.rows += x2d.shape[0]


@dataclass
class ActParams:
    """Static activation quantization parameters of one layer (per tensor)."""

    scale: float  # float32 value
    zero_point: int
    extra: dict = field(default_factory=dict)  # scheme-specific (per-channel data etc.)


@dataclass
class ActQ:
    """Quantized activations: ``codes`` int64 ``[rows, features]``; value = (code - zero_point) * scale."""

    codes: torch.Tensor
    scale: torch.Tensor  # float32 scalar
    zero_point: torch.Tensor  # int64 scalar


def int_matmul(a_codes: torch.Tensor, w_codes: torch.Tensor) -> torch.Tensor:
    """Exact integer ``a @ w.T`` in int64 (``a``: [N, L], ``w``: [O, L])."""
    if a_codes.dtype != torch.int64 or w_codes.dtype != torch.int64:
        raise ValueError(f"int_matmul needs int64 codes, got {a_codes.dtype} and {w_codes.dtype}")
    if not (a_codes.numel() and w_codes.numel()):
        return a_codes @ w_codes.T
    bound = a_codes.shape[1] * int(a_codes.abs().max()) * int(w_codes.abs().max())
    if bound >= 1 << 63:
        raise OverflowError("integer accumulation could overflow int64")
    if bound < 1 << 53:
        # float64 holds every partial sum exactly below 2**53, and BLAS is far faster than int64
        return (a_codes.double() @ w_codes.double().T).to(torch.int64)
    return a_codes @ w_codes.T


# --------------------------------------------------------------------------------------------------
# Schemes


class Scheme:
    """Interface of a quantization scheme. Subclass :class:`UniformScheme` for most new schemes.

    ``name``: the key results are stored under (``label`` adds parameters when they differ from the
    registered defaults). The methods below are called by the emulated layers, in this order.
    """

    name: str = "scheme"
    wbits: int
    abits: int
    asymmetric: bool = False
    #: Activations only (see the module docstring): weights stay float32, the layer computes
    #: ``float_layer(fake_quant_act(x2d, params))``.
    act_only: bool = False

    @property
    def label(self) -> str:
        return self.name

    def config(self) -> dict:
        """JSON-able description stored with results."""
        return {"name": self.name, "wbits": self.wbits, "abits": self.abits, "asymmetric": self.asymmetric}

    def quantize_weight(self, w2d: torch.Tensor) -> WeightQ:
        raise NotImplementedError

    def act_params(self, stats: ActStats) -> ActParams:
        raise NotImplementedError

    def quantize_act(self, x2d: torch.Tensor, params: ActParams) -> ActQ:
        raise NotImplementedError

    def fake_quant_act(self, x2d: torch.Tensor, params: ActParams) -> torch.Tensor:
        """Activation-only schemes: the de-quantized activations, float32 of the shape of ``x2d``."""
        raise NotImplementedError

    def prepare(self, qmodel: nn.Module, calibrate: Callable[[nn.Module], None]) -> None:
        """Called once by :func:`quantize_model` after every layer is frozen (default: nothing)."""

    def int_dot(self, a_codes: torch.Tensor, w_codes: torch.Tensor) -> torch.Tensor:
        """The hardware's integer accumulation: int64 ``[N, L]`` x int64 ``[O, L]`` -> int64 ``[N, O]``."""
        return int_matmul(a_codes, w_codes)

    def accumulate(self, a: ActQ, w_codes: torch.Tensor, w_rowsum: torch.Tensor) -> torch.Tensor:
        """``sum_l (a - z) * w`` as ``int_dot(a, w) - z * rowsum(w)``, int64 ``[N, O]``."""
        acc = self.int_dot(a.codes, w_codes)
        if acc.dtype != torch.int64 or acc.shape != (a.codes.shape[0], w_codes.shape[0]):
            raise TypeError(f"int_dot must return int64 [N, O], got {acc.dtype} {tuple(acc.shape)}")
        z = int(a.zero_point)
        return acc - z * w_rowsum if z else acc


def _check_bits(bits: int, what: str) -> int:
    if not isinstance(bits, int) or not 2 <= bits <= 16:
        raise ValueError(f"{what} must be an integer in 2..16, got {bits!r}")
    return bits


class UniformScheme(Scheme):
    """Round-to-nearest uniform quantization: weights symmetric per output channel, activations per
    tensor, symmetric (signed codes) or asymmetric (unsigned codes with a zero point)."""

    def __init__(self, wbits: int = 8, abits: int = 8, asymmetric: bool = False, name: str | None = None):
        self.wbits = _check_bits(wbits, "wbits")
        self.abits = _check_bits(abits, "abits")
        self.asymmetric = bool(asymmetric)
        self.name = name or f"w{self.wbits}a{self.abits}" + ("-asym" if self.asymmetric else "")

    def quantize_weight(self, w2d: torch.Tensor) -> WeightQ:
        w2d = w2d.detach().float()
        qmax = (1 << (self.wbits - 1)) - 1
        absmax = w2d.abs().amax(1)
        scale = torch.where(absmax > 0, absmax / qmax, torch.ones_like(absmax)).float()
        inv = (1.0 / scale).float()
        codes = torch.round(w2d * inv[:, None]).clamp(-qmax - 1, qmax).to(torch.int64)
        return WeightQ(codes, scale)

    def act_params(self, stats: ActStats) -> ActParams:
        if stats.rows == 0:
            raise RuntimeError("layer saw no calibration data")
        lo, hi = min(stats.lo, 0.0), max(stats.hi, 0.0)
        if self.asymmetric:
            levels = (1 << self.abits) - 1
            scale = (hi - lo) / levels if hi > lo else 1.0
            scale = float(torch.tensor(scale, dtype=torch.float32))
            zero = int(round(-lo / scale))
            return ActParams(scale, min(max(zero, 0), levels))
        qmax = (1 << (self.abits - 1)) - 1
        absmax = max(-lo, hi)
        scale = absmax / qmax if absmax > 0 else 1.0
        return ActParams(float(torch.tensor(scale, dtype=torch.float32)), 0)

    def quantize_act(self, x2d: torch.Tensor, params: ActParams) -> ActQ:
        scale = torch.tensor(params.scale, dtype=torch.float32)
        inv = (1.0 / scale).float()
        q = torch.round(x2d.float() * inv)
        if self.asymmetric:
            q = (q + params.zero_point).clamp(0, (1 << self.abits) - 1)
        else:
            q = q.clamp(-(1 << (self.abits - 1)), (1 << (self.abits - 1)) - 1)
        return ActQ(q.to(torch.int64), scale, torch.tensor(params.zero_point, dtype=torch.int64))


# --------------------------------------------------------------------------------------------------
# Emulated layers


class _Emulated(nn.Module):
    """Shared state of an emulated layer: ``mode`` is ``"calibrate"`` (float forward, collecting
    :class:`ActStats`) or ``"quant"`` (integer forward). ``capture``, when a list, receives one dict
    per call with the codes and integer accumulations (used by :mod:`golden.export`)."""

    def __init__(self, float_layer: nn.Module, scheme: Scheme, name: str):
        super().__init__()
        self.float_layer = float_layer
        self.scheme = scheme
        self.layer_name = name
        self.mode = "calibrate"
        self.stats = ActStats()
        self.params: ActParams | None = None
        self.capture: list | None = None
        if scheme.act_only:
            return  # float weights: nothing to quantize
        w2d = float_layer.weight.detach().reshape(float_layer.weight.shape[0], -1)
        wq = scheme.quantize_weight(w2d)
        if wq.codes.dtype != torch.int64 or wq.codes.shape != w2d.shape:
            raise TypeError(f"{name}: quantize_weight must give int64 codes of shape {tuple(w2d.shape)}")
        self.register_buffer("w_codes", wq.codes, persistent=False)
        self.register_buffer("w_scale", wq.scale.float(), persistent=False)
        self.register_buffer("w_rowsum", wq.codes.sum(1), persistent=False)

    def freeze(self) -> None:
        self.params = self.scheme.act_params(self.stats)
        self.mode = "quant"

    def _dequant(self, acc: torch.Tensor, a: ActQ) -> torch.Tensor:
        y = acc.to(torch.float64) * (a.scale.double() * self.w_scale.double())
        y = y.float()
        if self.float_layer.bias is not None:
            y = y + self.float_layer.bias.detach().float()
        return y

    def _fake_quant(self, x2d: torch.Tensor) -> torch.Tensor:
        """Activation-only path: the de-quantized input ``[rows, features]`` (recorded as ``x``, ``x_deq``)."""
        x_deq = self.scheme.fake_quant_act(x2d, self.params)
        if x_deq.dtype != torch.float32 or x_deq.shape != x2d.shape:
            raise TypeError(f"{self.layer_name}: fake_quant_act must give float32 {tuple(x2d.shape)}, "
                            f"got {x_deq.dtype} {tuple(x_deq.shape)}")
        self._record(x=x2d, x_deq=x_deq)
        return x_deq

    def _record(self, **arrays) -> None:
        if self.capture is not None:
            self.capture.append({k: v.detach().clone() for k, v in arrays.items()})

    def extra_repr(self) -> str:
        return f"{self.layer_name}, scheme={self.scheme.label}, mode={self.mode}"


class EmulatedLinear(_Emulated):
    """``nn.Linear`` computed through the scheme's integer path (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lin = self.float_layer
        x2d = x.reshape(-1, lin.in_features)
        if self.mode == "calibrate":
            self.stats.update(x2d)
            return lin(x)
        if self.scheme.act_only:
            return lin(self._fake_quant(x2d).reshape(x.shape))
        a = self.scheme.quantize_act(x2d, self.params)
        acc = self.scheme.accumulate(a, self.w_codes, self.w_rowsum)
        self._record(a_codes=a.codes, acc=acc, a_scale=a.scale, a_zero_point=a.zero_point)
        return self._dequant(acc, a).reshape(*x.shape[:-1], lin.out_features)


class EmulatedConv2d(_Emulated):
    """``nn.Conv2d`` (groups=1, zero padding) computed by im2col of the activation codes and the
    scheme's ``int_dot``; padding uses the code of 0.0, i.e. the zero point."""

    def __init__(self, float_layer: nn.Conv2d, scheme: Scheme, name: str):
        if float_layer.groups != 1 or float_layer.padding_mode != "zeros":
            raise ValueError(f"{name}: only groups=1 and zero padding are supported")
        if isinstance(float_layer.padding, str):
            raise ValueError(f"{name}: give the padding as integers, not {float_layer.padding!r}")
        super().__init__(float_layer, scheme, name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.float_layer
        b, c, h, w = x.shape
        if self.mode == "calibrate":
            self.stats.update(x.permute(0, 2, 3, 1).reshape(-1, c))
            return conv(x)
        if self.scheme.act_only:
            x_deq = self._fake_quant(x.permute(0, 2, 3, 1).reshape(-1, c))
            return conv(x_deq.reshape(b, h, w, c).permute(0, 3, 1, 2))
        a = self.scheme.quantize_act(x.permute(0, 2, 3, 1).reshape(-1, c), self.params)
        if a.zero_point.dim() != 0:
            raise ValueError(f"{self.layer_name}: conv padding needs a per-tensor zero point")
        fmap = a.codes.reshape(b, h, w, c).permute(0, 3, 1, 2)
        rows, (ho, wo) = im2col(fmap, conv.kernel_size, conv.stride, conv.padding, conv.dilation, int(a.zero_point))
        acc = self.scheme.accumulate(ActQ(rows, a.scale, a.zero_point), self.w_codes, self.w_rowsum)
        self._record(a_fmap=fmap, a_codes=rows, acc=acc, a_scale=a.scale, a_zero_point=a.zero_point)
        y = self._dequant(acc, a)
        return y.reshape(b, ho, wo, -1).permute(0, 3, 1, 2).contiguous()


def im2col(fmap: torch.Tensor, kernel, stride, padding, dilation, pad_code: int):
    """Integer im2col: ``fmap`` int64 ``[B, C, H, W]`` -> rows int64 ``[B*Ho*Wo, C*kh*kw]`` (row order
    b, y, x; column order c, ky, kx as in ``weight.reshape(O, -1)``) and ``(Ho, Wo)``."""
    b, c, h, w = fmap.shape
    ph, pw = padding
    padded = F.pad(fmap, (pw, pw, ph, ph), value=pad_code) if (ph or pw) else fmap
    # float64 holds every code exactly (|code| < 2**53); unfold has no integer kernel.
    cols = F.unfold(padded.to(torch.float64), kernel, dilation=dilation, stride=stride)
    ho = (h + 2 * ph - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    wo = (w + 2 * pw - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    rows = cols.transpose(1, 2).reshape(b * ho * wo, -1).to(torch.int64)
    return rows, (ho, wo)


def emulated_layers(model: nn.Module) -> dict[str, _Emulated]:
    """The emulated layers of a quantized model, by the name of the layer they replace."""
    return {m.layer_name: m for m in model.modules() if isinstance(m, _Emulated)}


def _selected(name: str, include: Iterable[str] | None, exclude: Iterable[str] | None) -> bool:
    if include is not None and not any(fnmatch.fnmatchcase(name, p) for p in include):
        return False
    return not (exclude and any(fnmatch.fnmatchcase(name, p) for p in exclude))


def quantize_model(
    model: nn.Module,
    scheme: Scheme,
    calibrate: Callable[[nn.Module], None],
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear``/``nn.Conv2d`` layers (names matching the glob
    patterns ``include``, default all, and none of ``exclude``) compute with ``scheme``.

    ``calibrate(model)`` must run the calibration split through the model; it is called once with
    every emulated layer collecting statistics in float, after which the layers are frozen and
    ``scheme.prepare(qmodel, calibrate)`` is called.
    """
    qmodel = copy.deepcopy(model).eval()
    targets = [
        (name, mod)
        for name, mod in qmodel.named_modules()
        if isinstance(mod, (nn.Linear, nn.Conv2d)) and _selected(name, include, exclude)
    ]
    if not targets:
        raise ValueError("no Linear/Conv2d layer matches the selection")
    for name, mod in targets:
        cls = EmulatedConv2d if isinstance(mod, nn.Conv2d) else EmulatedLinear
        parent_name, _, child = name.rpartition(".")
        parent = qmodel.get_submodule(parent_name) if parent_name else qmodel
        setattr(parent, child, cls(mod, scheme, name))
    with torch.no_grad():
        calibrate(qmodel)
    for layer in emulated_layers(qmodel).values():
        layer.freeze()
    with torch.no_grad():
        scheme.prepare(qmodel, calibrate)
    return qmodel
