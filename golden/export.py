"""Export the integer tensors of real network layers: the inputs of RTL tests.

    python -m golden.export --model digits_cnn --scheme uniform --wbits 4 --abits 8 \\
        --layer block1.a.conv --rows 64 -o build/export/digits_w4a8.npz
    python -m golden.export --model minilm --scheme uniform --wbits 4 --abits 8 \\
        --layer encoder.layer.0.attention.self.query -o build/export/minilm_q0_w4a8.npz
    python -m golden.export --model digits_cnn --list-layers

The whole network is quantized with the scheme and calibrated; evaluation samples are run through
it one at a time, and the chosen layers' codes are recorded as the hardware sees them (upstream
layers quantized too). For each layer ``NAME`` the file holds ``NAME/<field>``:

``w_codes`` [O, L] weight codes; ``w_scale`` float32 [O]; ``a_codes`` [N, L] activation codes (im2col
rows for a conv); ``a_scale`` float32 scalar; ``a_zero_point`` int64 scalar; ``acc`` int64 [N, O], the
golden integer output ``int_dot(a, w) - z * rowsum(w)`` of the scheme (the exact
``sum((a - z) * w)`` for the baselines); ``bias`` float32 [O] (zeros when the layer has none);
``wbits``, ``abits``, ``asymmetric``; for a conv also ``a_fmap`` [B, C, H, W] (the input code feature
map of the same images, padding not included), ``acc_fmap`` [B, O, Ho, Wo], ``kernel``, ``stride``,
``padding``, ``dilation``. Codes use the narrowest integer dtype that holds them (int8 / uint8 /
int16 / int32); ``acc`` is int64. Top level: ``layers`` (names), ``model``, ``scheme`` (JSON of the
scheme config). ``N <= rows`` for Linear; for a conv whole images are kept: ``max(1, rows // (Ho*Wo))``
images, ``N`` = images x Ho x Wo.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

import numpy as np
import torch

from . import quant
from .evaluate import add_scheme_args, make_scheme, parse_options, quantized
from .models import Network, get_network, network_names

__all__ = ["export_layers", "save_npz", "load_npz", "layer_names"]


def _int_array(t: torch.Tensor, signed: bool) -> np.ndarray:
    a = t.detach().cpu().numpy().astype(np.int64)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    for dt in ((np.int8, np.int16, np.int32) if signed else (np.uint8, np.uint16, np.int32)):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return a.astype(dt)
    return a


def layer_names(model: str | Network) -> list[tuple[str, str, tuple]]:
    """``(name, kind, weight shape)`` of every Linear/Conv2d of a network."""
    net = get_network(model) if isinstance(model, str) else model
    return [
        (name, type(m).__name__, tuple(m.weight.shape))
        for name, m in net.load().named_modules()
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))
    ]


def export_layers(
    model: str | Network,
    scheme: str | quant.Scheme,
    layers: list[str] | None = None,
    rows: int = 64,
    limit: int = 256,
) -> dict[str, np.ndarray]:
    """Arrays (see the module docstring) of the layers matching ``layers`` (names or glob
    patterns; all layers when None), from at most ``limit`` evaluation samples."""
    if rows < 1 or limit < 1:
        raise ValueError("rows and limit must be >= 1")
    net = get_network(model) if isinstance(model, str) else model
    if isinstance(scheme, str):
        scheme = make_scheme(scheme)
    if scheme is None:
        raise ValueError("export needs a quantization scheme, not fp32")
    qmodel = quantized(net, scheme)
    emulated = quant.emulated_layers(qmodel)
    chosen = [n for n in emulated if layers is None or any(fnmatch.fnmatchcase(n, p) for p in layers)]
    if not chosen:
        raise ValueError(f"no layer matches {layers}; layers: {', '.join(emulated)}")
    for name in chosen:
        emulated[name].capture = []

    def collected(name):
        layer = emulated[name]
        if isinstance(layer, quant.EmulatedConv2d):
            return len(layer.capture) >= 1 and sum(c["a_fmap"].shape[0] for c in layer.capture) * (
                layer.capture[0]["acc"].shape[0] // layer.capture[0]["a_fmap"].shape[0]
            ) >= rows
        return sum(c["a_codes"].shape[0] for c in layer.capture) >= rows

    for batch in net.sample_batches(limit):
        net.run(qmodel, batch)
        if all(collected(n) for n in chosen):
            break

    sym = not scheme.asymmetric
    out: dict[str, np.ndarray] = {
        "layers": np.array(chosen),
        "model": np.array(net.name),
        "scheme": np.array(json.dumps(scheme.config(), sort_keys=True)),
    }
    for name in chosen:
        layer = emulated[name]
        caps = layer.capture
        layer.capture = None
        a_codes = torch.cat([c["a_codes"] for c in caps])
        acc = torch.cat([c["acc"] for c in caps])
        f = {}
        if isinstance(layer, quant.EmulatedConv2d):
            fmap = torch.cat([c["a_fmap"] for c in caps])
            per_img = acc.shape[0] // fmap.shape[0]
            n_img = min(fmap.shape[0], max(1, rows // per_img))
            ho, wo = _out_hw(layer.float_layer, fmap.shape[2:])
            a_codes, acc, fmap = a_codes[: n_img * per_img], acc[: n_img * per_img], fmap[:n_img]
            conv = layer.float_layer
            f["a_fmap"] = _int_array(fmap, sym)
            f["acc_fmap"] = acc.reshape(n_img, ho, wo, -1).permute(0, 3, 1, 2).numpy().astype(np.int64)
            for k in ("kernel_size", "stride", "padding", "dilation"):
                f[k.replace("_size", "")] = np.array(getattr(conv, k), dtype=np.int64)
        else:
            a_codes, acc = a_codes[:rows], acc[:rows]
        bias = layer.float_layer.bias
        f.update(
            w_codes=_int_array(layer.w_codes, True),
            w_scale=layer.w_scale.numpy().astype(np.float32),
            a_codes=_int_array(a_codes, sym),
            a_scale=np.array(float(caps[0]["a_scale"]), dtype=np.float32),
            a_zero_point=np.array(int(caps[0]["a_zero_point"]), dtype=np.int64),
            acc=acc.numpy().astype(np.int64),
            bias=(bias.detach().numpy() if bias is not None else np.zeros(layer.w_codes.shape[0])).astype(np.float32),
            wbits=np.array(scheme.wbits, dtype=np.int64),
            abits=np.array(scheme.abits, dtype=np.int64),
            asymmetric=np.array(int(scheme.asymmetric), dtype=np.int64),
        )
        for k, v in f.items():
            out[f"{name}/{k}"] = v
    return out


def _out_hw(conv: torch.nn.Conv2d, hw) -> tuple[int, int]:
    return tuple(
        (hw[i] + 2 * conv.padding[i] - conv.dilation[i] * (conv.kernel_size[i] - 1) - 1) // conv.stride[i] + 1
        for i in range(2)
    )


def save_npz(arrays: dict[str, np.ndarray], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def load_npz(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """``{layer: {field: array}}`` from an export file (plus ``"_meta"``: model and scheme)."""
    with np.load(path, allow_pickle=False) as z:
        out: dict[str, dict[str, np.ndarray]] = {"_meta": {"model": z["model"], "scheme": z["scheme"]}}
        for name in z["layers"]:
            prefix = f"{name}/"
            out[str(name)] = {k[len(prefix) :]: z[k] for k in z.files if k.startswith(prefix)}
        return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.export", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help=", ".join(network_names()))
    ap.add_argument("--list-layers", action="store_true", help="print the layer names and exit")
    ap.add_argument("--layer", action="append", metavar="NAME", help="layer name or glob (repeatable; default all)")
    ap.add_argument("--rows", type=int, default=64, help="activation rows per layer (default 64)")
    ap.add_argument("--limit", type=int, default=256, help="at most this many evaluation samples (default 256)")
    ap.add_argument("-o", "--output", type=Path, help="output .npz file")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    argv = sys.argv[1:] if argv is None else argv
    if "--list-layers" in argv:
        args, _ = ap.parse_known_args(argv)
        for name, kind, shape in layer_names(args.model):
            print(f"{name}\t{kind}\t{'x'.join(map(str, shape))}")
        return 0
    add_scheme_args(ap, multiple=False)
    args = ap.parse_args(argv)
    if args.output is None:
        ap.error("-o FILE.npz is required")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        scheme = make_scheme(args.scheme, args.wbits, args.abits, args.asym, parse_options(args.opt))
        if args.include or args.exclude:
            raise ValueError("export quantizes every layer; use --layer to choose what is written")
        arrays = export_layers(args.model, scheme, args.layer, rows=args.rows, limit=args.limit)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = save_npz(arrays, args.output)
    for name in arrays["layers"]:
        print(f"{name}: a_codes {arrays[f'{name}/a_codes'].shape} {arrays[f'{name}/a_codes'].dtype}, "
              f"w_codes {arrays[f'{name}/w_codes'].shape} {arrays[f'{name}/w_codes'].dtype}, acc {arrays[f'{name}/acc'].shape}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
