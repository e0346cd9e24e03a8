"""Channel permutation making WAPS groups contiguous (the paper's section III-C.2).

A layer's input channels can be put in any order by reordering the output channels of the layers that
produce them (their weight rows, biases, weight scales, ``gamma_z``/``phi_z``) and the input channels
of every layer that reads them (weight columns, group selects): the network computes the same
function, only the channel order of one tensor changes. :data:`golden.waps.network.STREAMS` lists
those tensors for ``digits_cnn``.

A plain chain gives each layer's groups contiguous channels. A residual block ties two readers to
one order: the block's input is read by its first conv and, after the skip addition, by the layer
after the block (``down``, ``fc``). The order then sorts by the first reader's group, and inside each
of its groups by the second reader's group, ascending in one group and descending in the next (a
snake), so that the second reader's channels of one group lie in few runs. The second reader then
reads its input channels in its own group order (``TapLayer.in_order``, a fixed gather of channel
addresses when the input is loaded, as the paper's hardware receives "input features sorted into
groups"), so every layer has one contiguous group per select and the integer network computes
exactly what it computed before the permutation.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import torch

from .calibrate import LayerResult, NetworkResult
from .network import STREAMS

__all__ = ["stream_order", "permute_network", "permute_result"]


def stream_order(selects: list[torch.Tensor]) -> torch.Tensor:
    """The channel order of a tensor read by layers with group ``selects`` (first reader first): stable
    sort by the first reader's select, then by the second's, snaking (see the module docstring)."""
    first = selects[0]
    key = first * 16
    if len(selects) > 1:
        present = sorted(set(first.tolist()))
        rank = torch.tensor([present.index(s) for s in first.tolist()], dtype=torch.int64)
        second = torch.where(rank % 2 == 0, selects[1], 2 - selects[1])
        key = key + second
    if len(selects) > 2:
        raise ValueError("at most two readers per tensor")
    return torch.sort(key, stable=True).indices


def permute_result(res: LayerResult, out_perm: torch.Tensor | None, in_perm: torch.Tensor | None) -> LayerResult:
    """``res`` with its output channels in ``out_perm`` order and its input channels in ``in_perm``."""
    codes, changes = res.codes, {}
    if out_perm is not None:
        codes = codes[out_perm]
        changes.update(s_w=res.s_w[out_perm], gamma_z=res.gamma_z[out_perm], phi_z=res.phi_z[out_perm],
                       bias=res.bias[out_perm])
    if in_perm is not None:
        codes = codes[:, in_perm]
        changes.update(selects=res.selects[in_perm])
    return replace(res, codes=codes.contiguous(), **changes)


def permute_network(result: NetworkResult) -> tuple[NetworkResult, dict]:
    """The calibrated network with every stream of :data:`STREAMS` in :func:`stream_order`: the float
    model (weights and biases) and the layer results alike. Returns it and ``{stream index: order}``."""
    model = copy.deepcopy(result.model)
    out_perm, in_perm, orders = {}, {}, {}
    for index, (producers, readers) in enumerate(STREAMS):
        order = stream_order([result.layers[name].selects for name in readers])
        orders[index] = order
        for name in producers:
            out_perm[name] = order
        for name in readers:
            in_perm[name] = order
    with torch.no_grad():
        for name, order in out_perm.items():
            layer = model.get_submodule(name)
            layer.weight.copy_(layer.weight[order])
            layer.bias.copy_(layer.bias[order])
        for name, order in in_perm.items():
            layer = model.get_submodule(name)
            layer.weight.copy_(layer.weight[:, order])
    layers = {name: permute_result(res, out_perm.get(name), in_perm.get(name)) for name, res in result.layers.items()}
    return replace(result, model=model, layers=layers), orders
