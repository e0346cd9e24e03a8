"""WAPS golden model: group-scaled partial sums ("WAPS-Quant: Low-Bit Post-Training Quantization Using
Weight-Activation Product Scaling", IEEE Access), the exact integer semantics the RTL in ``hdl/waps``
reproduces bit for bit.

:mod:`~golden.waps.layer` holds :class:`WapsLayer` (one calibrated layer in integers) and its exact
forward pass; :mod:`~golden.waps.scheme` the calibrated scheme (``waps``) and its
round-only control (``waps-round-only``). ``SCHEMES`` (name -> factory) is what :mod:`golden.schemes` collects for ``waps``.
"""

from . import layer
from .layer import (
    SELECT_DOWN,
    SELECT_ONE,
    SELECT_UP,
    SELECTS,
    WapsLayer,
    accumulate,
    forward,
    group_bounds,
    group_sums,
    max_abs_total,
    output_range,
    reference_forward,
    reference_group_sums,
    requantize,
    scale_sum,
)

from .scheme import SCHEMES

__all__ = [*layer.__all__, "SCHEMES"]
