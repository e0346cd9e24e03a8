"""WAPS accelerator: the processing element with group-scaled partial sums and its baseline.

The hardware of "WAPS-Quant: Low-Bit Post-Training Quantization Using Weight-Activation Product
Scaling" (IEEE Access), with the exact semantics of ``docs/waps.md``. ``DESIGNS`` lists the
generatable designs (collected by :mod:`hdl.registry`).
"""

from ..design import Design
from .accumulator import Accumulator
from .group_accumulator import GroupAccumulator
from .group_scaler import GroupScaler
from .mac_array import MacArray
from .pe import MacPE, WapsPE
from .requantizer import Requantizer

__all__ = ["WapsPE", "MacPE", "MacArray", "Accumulator", "GroupAccumulator", "GroupScaler", "Requantizer", "DESIGNS"]

_PARAMS = {
    "inputs": "activations per beat (products per output per cycle), 1..64",
    "outputs": "outputs per beat (the MAC array is inputs x outputs), 1..64",
    "w_bits": "weight code bits (signed), 2..8",
    "a_bits": "activation code bits (unsigned), 1..8",
    "n": "group scale shift: scales 1, 1 - 2^-n, 1 + 2^-n; 1..16",
    "acc_bits": "accumulator bits (D1, D2, T), from the adder-tree width to 48",
    "mult_bits": "requantization multiplier bits (signed); the bias has acc_bits + mult_bits, 2..32",
    "out_bits": "output code bits, 1..16",
}

DESIGNS = [
    Design(
        name="waps_pe",
        component=WapsPE,
        summary="WAPS PE: inputs x outputs MACs per cycle, group sums in D1, shift and 3-to-1 mux into D2, requantizer",
        params=_PARAMS,
    ),
    Design(
        name="mac_pe",
        component=MacPE,
        summary="baseline PE without WAPS: the same MAC array and requantizer, one accumulator",
        params=_PARAMS,
    ),
]
