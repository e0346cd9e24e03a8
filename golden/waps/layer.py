"""A WAPS layer in integers: the exact arithmetic the RTL in ``hdl/waps`` reproduces bit for bit.

WAPS is the scheme of "WAPS-Quant: Low-Bit Post-Training Quantization Using Weight-Activation Product
Scaling" (IEEE Access). Calibration permutes a layer's input channels so that channels sharing a scale
are contiguous, splits them into groups, and gives each group one of three scales, ``1``, ``1 - 2^-n``
or ``1 + 2^-n``. In hardware the scale multiplies the group's *partial sum* of weight x activation
products, so it costs one fixed shift and an add or subtract per group and output, not a multiplier.

The integer semantics (a :class:`WapsLayer` holds everything they need):

* input activations ``x`` are unsigned ``a_bits`` codes (zero point 0), ``[N, in]`` (linear) or
  ``[N, in, H, W]`` (conv2d, zero padding);
* the partial sum of group ``g`` for one output (and output position) is
  ``S_g = sum of w * x`` over the group's input channels (and kernel positions), exact;
* ``T = sum over g of scale(S_g)`` with ``scale(S) = S``, ``S - (S >> n)`` or ``S + (S >> n)`` by the
  group's select, ``>>`` arithmetic (floor division by ``2^n``, also for negative ``S``);
* ``y = clamp((T * multiplier[o] + bias[o]) >> shift, lo, hi)``, ``>>`` arithmetic (floor);
  ``lo, hi = 0, 2^out_bits - 1`` with ``relu``, else ``-2^(out_bits-1), 2^(out_bits-1) - 1``.

The float meaning (for calibration): ``y * s_out ~= relu(T * s_x * s_w[o] * gamma[o] + phi[o] + b[o])``,
so ``multiplier[o] = round(s_x * s_w[o] * gamma[o] / s_out * 2^shift)`` and
``bias[o] = round((phi[o] + b[o]) / s_out * 2^shift) + 2^(shift-1)`` (the rounding constant, so that the
floor shift rounds half up).

:func:`group_sums`, :func:`accumulate` and :func:`forward` are the fast versions (int64 matrix products;
a convolution is unfolded in float64, an exact copy of small integers, and multiplied in int64).
:func:`reference_forward` (with :func:`reference_group_sums`) is the plain sequential definition, in
Python integers, that the tests check the fast version against.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "SELECT_ONE",
    "SELECT_DOWN",
    "SELECT_UP",
    "SELECTS",
    "WapsLayer",
    "scale_sum",
    "requantize",
    "output_range",
    "max_abs_total",
    "group_bounds",
    "group_sums",
    "accumulate",
    "forward",
    "reference_group_sums",
    "reference_forward",
]

SELECT_ONE, SELECT_DOWN, SELECT_UP = 0, 1, 2  # scale 1, 1 - 2^-n, 1 + 2^-n
SELECTS = (SELECT_ONE, SELECT_DOWN, SELECT_UP)

#: Every intermediate of :func:`forward` must stay below this magnitude (int64 with one bit to spare).
_INT64_SAFE = 2**62


def _int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def _int_tensor(name: str, value, dims: tuple[int, ...]) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dtype != torch.int64:
        raise TypeError(f"{name} must be int64, got {value.dtype}")
    if value.dim() not in dims:
        raise ValueError(f"{name} must have {' or '.join(map(str, dims))} dimensions, got {value.dim()}")
    return value


def _max_abs(t: torch.Tensor) -> int:
    return int(t.abs().max()) if t.numel() else 0


@dataclass(frozen=True)
class WapsLayer:
    """One calibrated layer in integers, input channels already permuted so groups are contiguous.

    ``weight`` is int64 ``[out, in]`` (linear) or ``[out, in, kh, kw]`` (conv2d) of signed ``w_bits``
    codes; ``group_sizes`` the contiguous input-channel groups in order (sum ``in``, a size may be 0);
    ``group_selects`` one of :data:`SELECTS` per group; ``n`` the shift of the group scales;
    ``multiplier`` and ``bias`` int64 ``[out]``; ``shift`` the floor shift after multiply and bias;
    ``relu`` chooses unsigned (True) or signed (False) ``out_bits`` outputs; ``stride``/``padding`` are
    for conv only (1 and 0 for linear). Every field is checked once: ``TypeError`` for a wrong type,
    ``ValueError`` for a wrong value, and ``ValueError`` when the largest possible ``T * multiplier +
    bias`` would not fit int64 with a bit to spare.
    """

    weight: torch.Tensor
    group_sizes: tuple[int, ...]
    group_selects: tuple[int, ...]
    n: int
    multiplier: torch.Tensor
    bias: torch.Tensor
    shift: int
    relu: bool
    w_bits: int
    a_bits: int
    out_bits: int
    stride: int = 1
    padding: int = 0

    def __post_init__(self):
        for name, low in (("w_bits", 2), ("a_bits", 1), ("out_bits", 1), ("n", 1), ("shift", 0),
                          ("stride", 1), ("padding", 0)):
            _int(name, getattr(self, name), low)
        if not isinstance(self.relu, bool):
            raise TypeError(f"relu must be a bool, got {type(self.relu).__name__}")
        if not self.relu and self.out_bits < 2:
            raise ValueError(f"signed outputs (relu=False) need out_bits >= 2, got {self.out_bits}")
        weight = _int_tensor("weight", self.weight, (2, 4))
        if weight.dim() == 2 and (self.stride != 1 or self.padding != 0):
            raise ValueError("a linear layer (2-D weight) takes stride 1 and padding 0")
        if weight.numel() == 0:
            raise ValueError(f"weight must not be empty, got shape {tuple(weight.shape)}")
        w_lo, w_hi = -(2 ** (self.w_bits - 1)), 2 ** (self.w_bits - 1) - 1
        if int(weight.min()) < w_lo or int(weight.max()) > w_hi:
            raise ValueError(f"weight codes must be in [{w_lo}, {w_hi}] (w_bits={self.w_bits}), "
                             f"got [{int(weight.min())}, {int(weight.max())}]")
        outputs, inputs = weight.shape[0], weight.shape[1]
        if not isinstance(self.group_sizes, tuple) or not isinstance(self.group_selects, tuple):
            raise TypeError("group_sizes and group_selects must be tuples")
        if not self.group_sizes:
            raise ValueError("a layer needs at least one group")
        for size in self.group_sizes:
            _int("a group size", size, 0)
        if sum(self.group_sizes) != inputs:
            raise ValueError(f"group sizes must sum to the {inputs} input channels, got {sum(self.group_sizes)}")
        if len(self.group_selects) != len(self.group_sizes):
            raise ValueError(f"one select per group: {len(self.group_sizes)} groups, "
                             f"{len(self.group_selects)} selects")
        for select in self.group_selects:
            if isinstance(select, bool) or not isinstance(select, int):
                raise TypeError(f"a group select must be an int, got {type(select).__name__}")
            if select not in SELECTS:
                raise ValueError(f"a group select must be one of {SELECTS}, got {select}")
        for name in ("multiplier", "bias"):
            t = _int_tensor(name, getattr(self, name), (1,))
            if t.shape[0] != outputs:
                raise ValueError(f"{name} must have one entry per output ({outputs}), got {t.shape[0]}")
        bound = max_abs_total(self) * _max_abs(self.multiplier) + _max_abs(self.bias)
        if bound >= _INT64_SAFE:
            raise ValueError(f"T * multiplier + bias may reach {bound}, beyond 2^62: use a smaller multiplier")

    @property
    def conv(self) -> bool:
        """True for a conv2d layer (4-D weight)."""
        return self.weight.dim() == 4

    @property
    def inputs(self) -> int:
        return self.weight.shape[1]

    @property
    def outputs(self) -> int:
        return self.weight.shape[0]

    @property
    def groups(self) -> int:
        return len(self.group_sizes)


def max_abs_total(layer: WapsLayer) -> int:
    """A bound on ``|T|`` for any input: every product at its largest magnitude, times ``1 + 2^-n``."""
    taps = layer.weight[0].numel()
    biggest = taps * 2 ** (layer.w_bits - 1) * (2**layer.a_bits - 1)
    return biggest + (biggest >> layer.n) + 1


def scale_sum(partial: torch.Tensor, select: int, n: int) -> torch.Tensor:
    """``S``, ``S - (S >> n)`` or ``S + (S >> n)`` (by ``select``), ``>>`` arithmetic (floor)."""
    if select not in SELECTS:
        raise ValueError(f"select must be one of {SELECTS}, got {select}")
    if select == SELECT_ONE:
        return partial.clone()
    shifted = torch.div(partial, 2**n, rounding_mode="floor")
    return partial - shifted if select == SELECT_DOWN else partial + shifted


def output_range(relu: bool, out_bits: int) -> tuple[int, int]:
    """``(lo, hi)`` of the output codes: unsigned with ReLU, signed without."""
    if relu:
        return 0, 2**out_bits - 1
    return -(2 ** (out_bits - 1)), 2 ** (out_bits - 1) - 1


def requantize(total: torch.Tensor, multiplier: torch.Tensor, bias: torch.Tensor, shift: int,
               relu: bool, out_bits: int) -> torch.Tensor:
    """``clamp((total * multiplier + bias) >> shift, lo, hi)`` (floor shift) in int64; ``multiplier``
    and ``bias`` broadcast against ``total`` (give them the shape of the output axis)."""
    lo, hi = output_range(relu, out_bits)
    value = torch.div(total * multiplier + bias, 2**shift, rounding_mode="floor")
    return value.clamp(lo, hi)


def group_bounds(layer: WapsLayer) -> list[tuple[int, int]]:
    """``(first, end)`` input channels of each group, in order."""
    bounds, start = [], 0
    for size in layer.group_sizes:
        bounds.append((start, start + size))
        start += size
    return bounds


def _check_input(layer: WapsLayer, x) -> torch.Tensor:
    x = _int_tensor("x", x, (4,) if layer.conv else (2,))
    if x.shape[1] != layer.inputs:
        raise ValueError(f"x must have {layer.inputs} input channels, got {x.shape[1]}")
    if x.numel() and (int(x.min()) < 0 or int(x.max()) > 2**layer.a_bits - 1):
        raise ValueError(f"x codes must be unsigned a_bits={layer.a_bits} codes, "
                         f"got [{int(x.min())}, {int(x.max())}]")
    return x


def _columns(layer: WapsLayer, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """``x`` as ``[N, in, taps, positions]`` int64 and the output's spatial shape (``()`` for linear)."""
    if not layer.conv:
        return x.unsqueeze(-1).unsqueeze(-1), ()
    kh, kw = layer.weight.shape[2:]
    height = (x.shape[2] + 2 * layer.padding - kh) // layer.stride + 1
    width = (x.shape[3] + 2 * layer.padding - kw) // layer.stride + 1
    if height < 1 or width < 1:
        raise ValueError(f"input {tuple(x.shape[2:])} is smaller than the kernel {kh}x{kw}")
    # unfold copies values (small integers, exact in float64); back to int64 before any product
    cols = F.unfold(x.to(torch.float64), (kh, kw), padding=layer.padding, stride=layer.stride)
    cols = cols.to(torch.int64).reshape(x.shape[0], layer.inputs, kh * kw, height * width)
    return cols, (height, width)


def group_sums(layer: WapsLayer, x: torch.Tensor) -> torch.Tensor:
    """Partial sums ``S_g``: int64 ``[N, groups, out]`` (linear) or ``[N, groups, out, H', W']``."""
    x = _check_input(layer, x)
    cols, spatial = _columns(layer, x)
    weight = layer.weight.reshape(layer.outputs, layer.inputs, -1)
    sums = []
    for first, end in group_bounds(layer):
        w = weight[:, first:end].reshape(layer.outputs, -1)  # [out, size * taps]
        c = cols[:, first:end].reshape(cols.shape[0], -1, cols.shape[-1])  # [N, size * taps, positions]
        sums.append(torch.matmul(w, c))  # int64, exact
    out = torch.stack(sums, dim=1)  # [N, groups, out, positions]
    return out.reshape(*out.shape[:3], *spatial)


def accumulate(layer: WapsLayer, x: torch.Tensor) -> torch.Tensor:
    """``T``: the scaled group sums added, int64 ``[N, out(, H', W')]``."""
    sums = group_sums(layer, x)
    total = torch.zeros_like(sums[:, 0])
    for g, select in enumerate(layer.group_selects):
        total += scale_sum(sums[:, g], select, layer.n)
    return total


def forward(layer: WapsLayer, x: torch.Tensor) -> torch.Tensor:
    """The layer's output codes ``y``: int64 ``[N, out(, H', W')]``."""
    total = accumulate(layer, x)
    shape = (-1,) + (1,) * (total.dim() - 2)
    return requantize(total, layer.multiplier.reshape(shape), layer.bias.reshape(shape), layer.shift,
                      layer.relu, layer.out_bits)


def reference_group_sums(layer: WapsLayer, x: torch.Tensor) -> list:
    """Nested Python lists ``[N][groups][out](positions...)`` of ``S_g``, one product at a time."""
    x = _check_input(layer, x)
    w = layer.weight.tolist()
    xs = x.tolist()
    bounds = group_bounds(layer)
    if not layer.conv:
        return [[[sum(w[o][c] * xs[b][c] for c in range(first, end)) for o in range(layer.outputs)]
                 for first, end in bounds] for b in range(len(xs))]
    kh, kw = layer.weight.shape[2:]
    in_h, in_w = x.shape[2:]
    s, p = layer.stride, layer.padding
    height, width = (in_h + 2 * p - kh) // s + 1, (in_w + 2 * p - kw) // s + 1

    def pixel(b, c, i, j):
        return xs[b][c][i][j] if 0 <= i < in_h and 0 <= j < in_w else 0

    def one(b, o, first, end, r, q):
        total = 0
        for c in range(first, end):
            for u in range(kh):
                for v in range(kw):
                    total += w[o][c][u][v] * pixel(b, c, r * s - p + u, q * s - p + v)
        return total

    return [[[[[one(b, o, first, end, r, q) for q in range(width)] for r in range(height)]
              for o in range(layer.outputs)] for first, end in bounds] for b in range(len(xs))]


def _reference_scale(partial: int, select: int, n: int) -> int:
    shifted = partial >> n  # Python's >> on int is a floor shift, also for negative values
    return {SELECT_ONE: partial, SELECT_DOWN: partial - shifted, SELECT_UP: partial + shifted}[select]


def reference_forward(layer: WapsLayer, x: torch.Tensor) -> torch.Tensor:
    """:func:`forward`, written out one output at a time in Python integers."""
    sums = reference_group_sums(layer, x)
    lo, hi = output_range(layer.relu, layer.out_bits)
    mult, bias = layer.multiplier.tolist(), layer.bias.tolist()

    def out(o, per_group):
        if isinstance(per_group[0], list):  # spatial: recurse over positions
            return [out(o, [g[k] for g in per_group]) for k in range(len(per_group[0]))]
        total = sum(_reference_scale(s, sel, layer.n) for s, sel in zip(per_group, layer.group_selects))
        return min(hi, max(lo, (total * mult[o] + bias[o]) >> layer.shift))

    return torch.tensor([[out(o, [sums[b][g][o] for g in range(layer.groups)]) for o in range(layer.outputs)]
                         for b in range(len(sums))], dtype=torch.int64)
