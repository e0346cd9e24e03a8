"""Test data of the WAPS PE benches: a :class:`golden.waps.WapsLayer` and its input laid out as the
PE's jobs (the offline layout of ``docs/waps.md``), random and corner-case layers, the real layer.

The layout: a job is one output position (one row of a linear layer) and one tile of ``outputs``
output channels. Its products are listed group by group (channel-major within a group: channel,
kernel row, kernel column); each group's list is padded with zero products to a multiple of
``inputs``, so a beat never holds two groups, and an empty group gives no beat. The baseline
(ungrouped) layout lists all products in one run. Output channels past the layer's in the last tile
get zero weights, multiplier and bias: their code is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from golden.waps import SELECT_DOWN, SELECT_ONE, WapsLayer, forward

__all__ = ["Job", "Shape", "jobs", "beats_per_job", "random_layer", "random_input", "real_layer", "rtn_layer", "baseline"]


@dataclass(frozen=True)
class Shape:
    """The PE parameters a layout needs."""

    inputs: int
    outputs: int
    w_bits: int
    a_bits: int
    n: int
    acc_bits: int
    mult_bits: int
    out_bits: int

    @classmethod
    def of(cls, params: dict) -> "Shape":
        return cls(**{k: params[k] for k in cls.__dataclass_fields__})


@dataclass
class Job:
    """One job: its beats (dicts for the beat layout), its command and the expected output codes."""

    beats: list
    cmd: dict
    want: list
    label: str


def baseline(layer: WapsLayer) -> WapsLayer:
    """The layer with every group at scale 1: what the baseline PE computes."""
    return replace(layer, group_selects=(SELECT_ONE,) * layer.groups)


def _columns(layer: WapsLayer, x: torch.Tensor) -> torch.Tensor:
    """``x`` as ``[N, in * taps, positions]`` int64 (channel-major, as the weight reshaped)."""
    if not layer.conv:
        return x.unsqueeze(-1)
    kh, kw = layer.weight.shape[2:]
    cols = F.unfold(x.to(torch.float64), (kh, kw), padding=layer.padding, stride=layer.stride)
    return cols.to(torch.int64)


def _runs(layer: WapsLayer, grouped: bool) -> list[tuple[int, int, int]]:
    """``(first, end, select)`` product index ranges: one per non-empty group, or one in all."""
    taps = layer.weight[0, 0].numel()
    if not grouped:
        return [(0, layer.inputs * taps, SELECT_ONE)]
    runs, start = [], 0
    for size, select in zip(layer.group_sizes, layer.group_selects):
        if size:
            runs.append((start * taps, (start + size) * taps, select))
        start += size
    return runs


def beats_per_job(layer: WapsLayer, inputs: int, grouped: bool) -> int:
    """Beats of one job: the sum over groups of ``ceil(products / inputs)`` (one run ungrouped)."""
    return sum(-(-(end - first) // inputs) for first, end, _ in _runs(layer, grouped))


def _check_fits(name: str, values: torch.Tensor, bits: int) -> None:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if values.numel() and (int(values.min()) < lo or int(values.max()) > hi):
        raise ValueError(f"{name} reaches [{int(values.min())}, {int(values.max())}], beyond signed {bits} bits")


def jobs(layer: WapsLayer, x: torch.Tensor, shape: Shape, grouped: bool = True, label: str = "") -> list[Job]:
    """The jobs of ``layer`` on ``x`` for a PE of ``shape``, in order: sample, position, output tile.

    ``ValueError`` when the layer does not fit the PE: code widths, ``n``, the requantization
    fields, or a running sum (D1, ``S``, D2, ``T``) of these inputs beyond ``acc_bits``.
    """
    if layer.w_bits > shape.w_bits or layer.a_bits > shape.a_bits or layer.out_bits != shape.out_bits:
        raise ValueError(f"layer codes w{layer.w_bits} a{layer.a_bits} o{layer.out_bits} do not fit the PE "
                         f"w{shape.w_bits} a{shape.a_bits} o{shape.out_bits}")
    if grouped and layer.n != shape.n:
        raise ValueError(f"layer n = {layer.n}, the PE's is {shape.n}")
    _check_fits("multiplier", layer.multiplier, shape.mult_bits)
    _check_fits("bias", layer.bias, shape.acc_bits + shape.mult_bits)
    if layer.shift > shape.acc_bits + shape.mult_bits:
        raise ValueError(f"shift {layer.shift} beyond {shape.acc_bits + shape.mult_bits}")
    semantics = layer if grouped else baseline(layer)
    y = forward(semantics, x)  # [N, out(, H', W')]
    y = y.reshape(y.shape[0], y.shape[1], -1)  # [N, out, positions]
    cols = _columns(layer, x)  # [N, products, positions]
    weight = layer.weight.reshape(layer.outputs, -1)  # [out, products]
    tiles = -(-layer.outputs // shape.outputs)
    padded = tiles * shape.outputs
    weight = torch.cat([weight, weight.new_zeros(padded - layer.outputs, weight.shape[1])])
    multiplier = torch.cat([layer.multiplier, layer.multiplier.new_zeros(padded - layer.outputs)])
    bias = torch.cat([layer.bias, layer.bias.new_zeros(padded - layer.outputs)])
    y = torch.cat([y, y.new_zeros(y.shape[0], padded - layer.outputs, y.shape[2])], dim=1)

    # beats of every run, padded: per run [beats, inputs] activations and [out, beats, inputs] weights
    runs = []
    for first, end, select in _runs(layer, grouped):
        count = -(-(end - first) // shape.inputs)
        pad = count * shape.inputs - (end - first)
        w = torch.cat([weight[:, first:end], weight.new_zeros(padded, pad)], dim=1).reshape(padded, count, shape.inputs)
        xs = torch.cat([cols[:, first:end], cols.new_zeros(cols.shape[0], pad, cols.shape[2])], dim=1)
        xs = xs.reshape(cols.shape[0], count, shape.inputs, cols.shape[2])  # [N, beats, inputs, positions]
        runs.append((w, xs, select))

    # the running sums of the RTL, all at once: D1 within a group, S, D2 over groups, T
    totals = 0
    for w, xs, select in runs:
        beat_sums = torch.einsum("obi,nbip->nbop", w, xs)  # [N, beats, out, positions]
        d1 = beat_sums.cumsum(dim=1)
        _check_fits("a group's running sum (D1, S)", d1, shape.acc_bits)
        s = d1[:, -1]
        shifted = torch.div(s, 2**shape.n, rounding_mode="floor")
        scaled = s if select == SELECT_ONE or not grouped else (s - shifted if select == SELECT_DOWN else s + shifted)
        _check_fits("a scaled group sum", scaled, shape.acc_bits + 1)
        totals = totals + scaled
        _check_fits("the running total (D2, T)", totals, shape.acc_bits)

    out = []
    w_lists = [(w.tolist(), xs.tolist(), select) for w, xs, select in runs]
    mult, bias_list = multiplier.tolist(), bias.tolist()
    y_list = y.tolist()
    for sample in range(cols.shape[0]):
        for position in range(cols.shape[2]):
            for tile in range(tiles):
                rows = range(tile * shape.outputs, (tile + 1) * shape.outputs)
                beats = []
                for r, (w, xs, select) in enumerate(w_lists):
                    for b in range(len(xs[sample])):
                        beat = {"x": [xs[sample][b][i][position] for i in range(shape.inputs)],
                                "w": [w[o][b] for o in rows], "last": 0}
                        if grouped:
                            beat.update({"select": select, "group_end": int(b == len(xs[sample]) - 1)})
                        beats.append(beat)
                beats[-1]["last"] = 1
                cmd = {"multiplier": [mult[o] for o in rows], "bias": [bias_list[o] for o in rows],
                       "shift": layer.shift, "relu": int(layer.relu)}
                want = [y_list[sample][o][position] for o in rows]
                out.append(Job(beats, cmd, want, f"{label} sample {sample} position {position} tile {tile}"))
    return out


def random_layer(seed: int, shape: Shape, *, sizes: tuple[int, ...], selects: tuple[int, ...] | None = None,
                 outputs: int | None = None, conv: bool = False, relu: bool = True, shift: int = 10,
                 weight: str = "random") -> WapsLayer:
    """A layer with random codes that fits ``shape`` (``weight``: ``random``, ``min`` or ``max`` codes)."""
    g = torch.Generator().manual_seed(seed)
    outputs = shape.outputs if outputs is None else outputs
    inputs = sum(sizes)
    dims = (outputs, inputs, 3, 3) if conv else (outputs, inputs)
    half = 2 ** (shape.w_bits - 1)
    w = {"random": lambda: torch.randint(-half, half, dims, generator=g),
         "min": lambda: torch.full(dims, -half), "max": lambda: torch.full(dims, half - 1)}[weight]()
    if selects is None:
        selects = tuple(int(s) for s in torch.randint(0, 3, (len(sizes),), generator=g))
    # multipliers that spread a typical T over the output range (not all clamped)
    products = inputs * (9 if conv else 1)
    typical = max(1, int(half * (2**shape.a_bits - 1) * max(products, 1) ** 0.5 / 2))
    mult_top = max(2, min(2 ** (shape.mult_bits - 1), 2 ** (shift + shape.out_bits) // typical))
    multiplier = torch.randint(-mult_top, mult_top, (outputs,), generator=g)
    bias_top = 2 ** (shift + shape.out_bits - 1)
    bias = torch.randint(-bias_top, bias_top, (outputs,), generator=g)
    return WapsLayer(weight=w, group_sizes=tuple(sizes), group_selects=tuple(selects), n=shape.n,
                     multiplier=multiplier, bias=bias, shift=shift, relu=relu, w_bits=shape.w_bits,
                     a_bits=shape.a_bits, out_bits=shape.out_bits, padding=1 if conv else 0)


def random_input(seed: int, layer: WapsLayer, batch: int, size: int = 4, fill: str = "random") -> torch.Tensor:
    """Unsigned activation codes (``fill``: ``random``, ``max`` or ``zero``)."""
    g = torch.Generator().manual_seed(seed + 7919)
    dims = (batch, layer.inputs, size, size) if layer.conv else (batch, layer.inputs)
    top = 2**layer.a_bits - 1
    return {"random": lambda: torch.randint(0, top + 1, dims, generator=g),
            "max": lambda: torch.full(dims, top), "zero": lambda: torch.zeros(dims, dtype=torch.int64)}[fill]()


def real_layer(name: str = "block1.a.conv", images: int = 1) -> tuple[WapsLayer, torch.Tensor]:
    """A calibrated ``digits_cnn`` layer (W4A4) and the real input codes of its first ``images``
    calibration images (``golden.waps.real.calibrated_layers``; before that module exists, the
    stand-in :func:`rtn_layer`)."""
    try:
        from golden.waps.real import calibrated_layers
    except ModuleNotFoundError as error:
        if error.name != "golden.waps.real":
            raise
        return rtn_layer(name, images)
    for layer_name, layer, x in calibrated_layers("digits_cnn", w_bits=4, a_bits=4):
        if layer_name == name:
            return layer, x[:images]
    raise KeyError(f"digits_cnn has no calibrated layer {name!r}")


def rtn_layer(name: str, images: int, *, n: int = 4, shift: int = 16) -> tuple[WapsLayer, torch.Tensor]:
    """A real ``digits_cnn`` conv with round-to-nearest W4A4 codes (per-output weight scales, the
    input's absmax over the images), its input channels cut in three groups by weight magnitude
    (scales down, one, up), and the real input codes of the first ``images`` calibration images."""
    from golden.models import get_network

    net = get_network("digits_cnn")
    model = net.load()
    conv = model.get_submodule(name)
    seen = []
    handle = conv.register_forward_hook(lambda mod, args, out: seen.append(args[0].detach()))
    try:
        with torch.no_grad():
            for batch in net.sample_batches(images):
                net.run(model, batch)
    finally:
        handle.remove()
    x = seen[0][:images].double()
    s_x = float(x.max()) / 15
    codes_x = torch.floor(x / s_x + 0.5).clamp(0, 15).to(torch.int64)
    w = conv.weight.detach().double()
    s_w = w.abs().amax(dim=(1, 2, 3)) / 7
    order = w.abs().mean(dim=(0, 2, 3)).argsort()  # input channels, smallest weights first
    cut = [len(order) // 3, 2 * len(order) // 3]
    groups = [order[: cut[0]], order[cut[0]: cut[1]], order[cut[1]:]]
    permutation = torch.cat(groups)
    codes_w = torch.floor(w[:, permutation] / s_w.reshape(-1, 1, 1, 1) + 0.5).clamp(-8, 7).to(torch.int64)
    bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    s_out = 6.0 / 15
    layer = WapsLayer(
        weight=codes_w, group_sizes=tuple(len(g) for g in groups), group_selects=(1, 0, 2), n=n,
        multiplier=torch.round(s_x * s_w / s_out * 2**shift).to(torch.int64),
        bias=(torch.round(bias / s_out * 2**shift) + 2 ** (shift - 1)).to(torch.int64),
        shift=shift, relu=True, w_bits=4, a_bits=4, out_bits=4, stride=conv.stride[0], padding=conv.padding[0])
    return layer, codes_x[:, permutation]
