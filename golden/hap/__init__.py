"""HAP golden model: 8-bit asymmetric activations, dynamic asymmetric re-quantization (DAR), the
integer layer and the cycle count of the HAP array, the exact semantics the RTL in ``hdl/hap``
reproduces.

HAP is the scheme of "HAP: Efficient Quantization Harnessing Adaptive Precision for DNN Hardware
Acceleration" (Luo, Geng, Jiang, Liu, Han; DAC 2026). Modules: :mod:`~golden.hap.dar` (activation
quantization, operand matrix, DAR groups), :mod:`~golden.hap.layer` (the integer layer the array
computes) and :mod:`~golden.hap.cycles` (the array's exact cycle count).
"""

from . import cycles, dar, layer
from .cycles import layer_cycles, layer_tiles, load_cycles, row_tiles, step_order, tile_cycles
from .layer import WEIGHT_BITS, check_weights, integer_layer, integer_layer_reference, quantize_weights
from .dar import (
    ACT_BITS,
    BASE_BITS,
    MODES,
    PRECISION_BITS,
    DarGroups,
    average_precision,
    bit_length,
    calibrate_activations,
    metadata_bits_per_value,
    operand_matrix,
    quantize_activations,
    storage_bits_per_value,
)
from .dar import dar as dar_groups  # noqa: F401  (the function; ``golden.hap.dar`` stays the module)

__all__ = [*dar.__all__, *layer.__all__, *cycles.__all__, "dar_groups", "SCHEMES"]

#: The schemes of this accelerator: ``hap`` (8-bit asymmetric activations re-quantized by DAR, 4/8-bit
#: weight channels), from :mod:`golden.hap.scheme`.
from .scheme import SCHEMES  # noqa: E402
