"""Real calibrated WAPS layers for tests: :func:`calibrated_layers`.

``calibrated_layers("digits_cnn", w_bits=4, a_bits=4)`` calibrates ``digits_cnn`` with WAPS
(:func:`golden.waps.calibrate.calibrate_network` on the 128-image calibration split), exports every
layer to a :class:`~golden.waps.layer.WapsLayer` after the channel permutation of
:mod:`golden.waps.permute` and returns, per layer in network order,
``(name, layer, x)`` with ``x`` the layer's real input codes (int64) on the first ``images``
calibration images, computed by the integer network itself (every earlier layer exported). Each
layer's input channels are in the order it reads them, one contiguous group per select (the
network's channel order; for ``down.conv`` and ``fc``, which read a residual stream ordered for an
earlier layer, their own group order), the input codes in the same order, so
``golden.waps.layer.forward(layer, x)`` is what the layer computes in the network.

The result is cached under ``build/waps/`` (one file per set of arguments, torch tensors and plain
fields, no pickled classes), so a test gets the layers in about a second after the first call.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

import torch

from .calibrate import CalibConfig, calibrate_network
from .layer import WapsLayer
from .network import LAYERS, record_inputs, taps
from .permute import permute_network

__all__ = ["calibrated_layers", "CACHE", "DEFAULT_ITERATIONS", "cache_path"]

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "waps"
DEFAULT_ITERATIONS = 300
VERSION = 3
_FIELDS = ("group_sizes", "group_selects", "n", "shift", "relu", "w_bits", "a_bits", "out_bits", "stride", "padding")


def cache_path(model: str, config: CalibConfig, images: int) -> Path:
    key = json.dumps({"model": model, "config": config.as_dict(), "images": images, "version": VERSION}, sort_keys=True)
    return CACHE / f"{model}-w{config.w_bits}a{config.a_bits}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt"


def _to_blob(rows) -> list[dict]:
    out = []
    for name, layer, x in rows:
        fields = {k: getattr(layer, k) for k in _FIELDS}
        fields["group_sizes"], fields["group_selects"] = list(layer.group_sizes), list(layer.group_selects)
        out.append({"name": name, "fields": fields, "weight": layer.weight, "multiplier": layer.multiplier,
                    "bias": layer.bias, "x": x})
    return out


def _from_blob(blob: list[dict]):
    rows = []
    for item in blob:
        f = dict(item["fields"])
        f["group_sizes"], f["group_selects"] = tuple(f["group_sizes"]), tuple(f["group_selects"])
        layer = WapsLayer(weight=item["weight"], multiplier=item["multiplier"], bias=item["bias"], **f)
        rows.append((item["name"], layer, item["x"]))
    return rows


def calibrated_layers(model: str = "digits_cnn", *, w_bits: int = 4, a_bits: int = 4,
                      iterations: int = DEFAULT_ITERATIONS, images: int = 4, rounding: bool = True,
                      groups: bool = True, affine: bool = True, first_last_bits: int | None = None,
                      progress: bool = False) -> list[tuple[str, WapsLayer, torch.Tensor]]:
    """``[(layer name, WapsLayer, input codes)]`` of the calibrated ``model`` (see the module docstring).

    ``w_bits``/``a_bits`` every layer's weight and activation bits (``first_last_bits=8``: the first
    and the last layer at 8 bits), ``iterations`` per layer, ``rounding``/``groups``/``affine`` what
    is learned (:class:`~golden.waps.calibrate.CalibConfig`), ``images`` calibration images of input.
    """
    if model != "digits_cnn":
        raise ValueError(f"calibrated layers exist for digits_cnn only, got {model!r}")
    if not isinstance(images, int) or not 1 <= images <= 128:
        raise ValueError(f"images must be an int in 1..128, got {images!r}")
    config = CalibConfig(w_bits=w_bits, a_bits=a_bits, iterations=iterations, rounding=rounding, groups=groups,
                         affine=affine, first_last_bits=first_last_bits)
    path = cache_path(model, config, images)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return _from_blob(torch.load(path, weights_only=True))
        from golden.models import get_network

        net = get_network(model)
        calib = net.splits["calib"][0]
        result, _ = permute_network(calibrate_network(net.load(), calib, config, progress=progress))
        qmodel = result.integer_model()
        qtaps = taps(qmodel)
        rows = [(name, qtaps[name].waps, qtaps[name].codes(record_inputs(qmodel, name, calib[:images])))
                for name in LAYERS]
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(_to_blob(rows), partial)
        partial.replace(path)
        return rows
