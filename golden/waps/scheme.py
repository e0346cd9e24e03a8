"""WAPS as schemes of the real-network harness (:mod:`golden.quant`, ``golden.evaluate``).

``waps`` calibrates the network with :func:`golden.waps.calibrate.calibrate_network` when the model is
quantized (:meth:`WapsScheme.prepare`, on the network's calibration split) and then gives every
emulated layer its calibrated weight codes, input scale, ``gamma_z``-scaled weight scale and
``phi_z``-shifted bias, and an integer dot that sums each group's products separately and scales
the partial sums by shift and add (:class:`GroupDot`). ``waps-round-only`` is the same calibration
learning the rounding only (AdaRound; every channel at scale 1, no ``gamma_z``/``phi_z``).

The harness de-quantizes every layer's output in float and lets the next layer quantize it; the
exported integer network (:meth:`golden.waps.calibrate.NetworkResult.integer_model`) requantizes
in fixed point instead. The two differ only in how an output is rounded (``golden.waps.accuracy``
measures both). Only ``digits_cnn`` is supported (its layer table is :mod:`golden.waps.network`).
"""

from __future__ import annotations

import torch

from golden.quant import ActParams, UniformScheme, emulated_layers, int_matmul

from .calibrate import CalibConfig, calibrate_network
from .layer import SELECTS, scale_sum

__all__ = ["WapsScheme", "GroupDot", "round_only", "SCHEMES"]


class GroupDot(UniformScheme):
    """One layer's arithmetic: unsigned activations (zero point 0) and ``int_dot`` as WAPS computes
    it: ``T = sum over selects of scale(sum of a * w over that select's columns)``.

    ``column_selects`` int64 ``[L]``: the select of every column of the ``[O, L]`` weight matrix (a
    conv's columns are ``c, ky, kx``: each input channel's select repeated ``kh * kw`` times)."""

    def __init__(self, *, wbits: int, abits: int, n: int, column_selects: torch.Tensor, name: str):
        super().__init__(wbits, abits, asymmetric=True, name=name)
        self.n = n
        self.column_selects = column_selects

    def int_dot(self, a_codes: torch.Tensor, w_codes: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(a_codes.shape[0], w_codes.shape[0], dtype=torch.int64)
        for select in SELECTS:
            cols = self.column_selects == select
            if bool(cols.any()):
                total += scale_sum(int_matmul(a_codes[:, cols].contiguous(), w_codes[:, cols].contiguous()),
                                   select, self.n)
        return total


class WapsScheme(UniformScheme):
    """WAPS on ``digits_cnn`` (see the module docstring): ``wbits``/``abits`` of every layer (the
    first and last at 8 bits with ``first_last_bits=8``), ``iterations`` per layer, ``lam`` the
    regulariser weight, ``n`` the group-scale shift; ``rounding``, ``groups``, ``affine`` what is
    learned (:class:`~golden.waps.calibrate.CalibConfig`)."""

    def __init__(self, wbits: int = 4, abits: int = 4, iterations: int = 1000, lam: float = 0.01, n: int = 4,
                 rounding: bool = True, groups: bool = True, affine: bool = True,
                 first_last_bits: int | None = None, name: str = "waps"):
        self.calib = CalibConfig(w_bits=wbits, a_bits=abits, n=n, iterations=iterations, lam=lam,
                                 rounding=rounding, groups=groups, affine=affine, first_last_bits=first_last_bits)
        super().__init__(wbits, abits, asymmetric=True, name=name)
        self.result = None

    @property
    def label(self) -> str:
        extra = "" if self.calib.first_last_bits is None else ",first_last=8"
        return f"{self.name}[W{self.wbits}A{self.abits}{extra}]"  # golden.evaluate adds the --opt options

    def config(self) -> dict:
        return {**super().config(), "calibration": self.calib.as_dict()}

    def prepare(self, qmodel, calibrate) -> None:
        from golden.models import Network

        net = getattr(calibrate, "__self__", None)
        if not isinstance(net, Network) or net.name != "digits_cnn":
            raise ValueError("WAPS calibrates digits_cnn only: quantize it with its network's calibrate method")
        if self.result is None:  # a calibration given beforehand (golden.waps.accuracy) is used as is
            self.result = calibrate_network(net.load(), net.splits["calib"][0], self.calib)
        for name, layer in emulated_layers(qmodel).items():
            res = self.result.layers[name]
            taps = res.codes[0].numel() // res.codes.shape[1]
            layer.scheme = GroupDot(wbits=res.w_bits, abits=res.a_bits, n=res.n, name=self.name,
                                    column_selects=res.selects.repeat_interleave(taps))
            codes = res.codes.reshape(res.codes.shape[0], -1)
            layer.w_codes, layer.w_rowsum = codes, codes.sum(1)
            layer.w_scale = (res.s_w * res.gamma_z).float()
            layer.params = ActParams(float(torch.tensor(res.s_x, dtype=torch.float32)), 0)
            with torch.no_grad():
                layer.float_layer.bias.copy_((res.bias + res.phi_z).float())


def round_only(**options) -> WapsScheme:
    """AdaRound alone: learned rounding, every channel at scale 1, no ``gamma_z``/``phi_z``."""
    return WapsScheme(groups=False, affine=False, name="waps-round-only", **options)


SCHEMES = {"waps": WapsScheme, "waps-round-only": round_only}
