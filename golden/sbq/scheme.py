"""``SBQScheme``: SBQ as a quantization scheme of the real-network harness (:mod:`golden.quant`).

The paper ("SBQ: Exploiting Significant Bits for Efficient and Accurate Post-Training DNN
Quantization", J. Ling et al., DATE 2025, section IV-A) applies SBQ to a W4A8 base model; this
scheme quantizes like that base model and replaces only the integer dot of every layer by
:func:`golden.sbq.kernel.dot_matrix`. It is declared in ``golden.sbq.SCHEMES`` under the name ``sbq``.
"""

from __future__ import annotations

import torch

from golden.quant import UniformScheme

from .kernel import dot_matrix
from .model import ENCODE_BITS, check_dot_params

__all__ = ["SBQScheme"]


class SBQScheme(UniformScheme):
    """SBQ on a W4A8 base model: weights int4 per output channel symmetric, activations int8 per
    tensor symmetric, every integer dot computed by :func:`dot_matrix`.

    ``budget`` B, ``comp`` C (default B; 0 gives term quantization without compensation, the
    TQ-like row), ``depth`` D, ``lanes``. ``wbits`` 8 gives the W8A8 base instead.
    """

    def __init__(self, budget: int = 4, comp: int | None = None, depth: int = 4, lanes: int = 16,
                 wbits: int = 4, abits: int = 8, asymmetric: bool = False):
        if abits != 8 or asymmetric:
            raise ValueError("SBQ computes on int8 symmetric activations (abits=8, symmetric)")
        if wbits not in ENCODE_BITS:
            raise ValueError(f"SBQ weights are int4 or int8, got wbits={wbits}")
        comp = budget if comp is None else comp
        check_dot_params(budget, comp, depth, lanes)
        super().__init__(wbits, 8, False, name="sbq")
        self.budget, self.comp, self.depth, self.lanes = budget, comp, depth, lanes

    @property
    def label(self) -> str:
        base = "" if self.wbits == 4 else f",W{self.wbits}"
        return f"sbq[B={self.budget},C={self.comp},D={self.depth}{base}]"

    def config(self) -> dict:
        return {**super().config(), "budget": self.budget, "comp": self.comp, "depth": self.depth, "lanes": self.lanes}

    def int_dot(self, a_codes: torch.Tensor, w_codes: torch.Tensor) -> torch.Tensor:
        return dot_matrix(a_codes, w_codes, self.budget, self.comp, self.depth, self.lanes)
