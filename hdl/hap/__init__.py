"""HAP accelerator: a bit-serial, output-stationary PE array for activations coded with dynamic
asymmetric re-quantization (DAR), with a zero-point reuse unit and dual-precision (4/8-bit) weights.

The hardware of "HAP: Efficient Quantization Harnessing Adaptive Precision for DNN Hardware
Acceleration" (DAC 2026), with the exact semantics of ``docs/hap.md``. ``DESIGNS`` lists the
generatable designs (collected by :mod:`hdl.registry`).
"""

from ..design import Design
from .hap_array import HapArray
from .layouts import result_layout, step_layout
from .pe import BitSerialPE
from .pe_array import PEArray
from .sequencer import TileSequencer
from .zero_point import ZeroPointUnit

__all__ = ["HapArray", "PEArray", "BitSerialPE", "ZeroPointUnit", "TileSequencer", "step_layout",
           "result_layout", "DESIGNS"]

DESIGNS = [
    Design(
        name="hap_array",
        component=HapArray,
        summary="HAP array: bit-serial output-stationary PEs over DAR groups, zero-point reuse, 4/8-bit weight channels",
        params={
            "rows": "PE rows (output-channel slots; an 8-bit channel takes two), 2..64",
            "cols": "PE columns, equal to the DAR group size, 1..64",
            "acc_bits": "accumulator width in bits, 16..64 (results exact when they fit)",
        },
    ),
]
