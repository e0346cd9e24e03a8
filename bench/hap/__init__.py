"""HAP cost plan (``python -m bench.cost hap``): the ``hap_array`` design at its default size (8 PE
rows x 16 columns = DAR group size 16, 4-bit weight digits, 32-bit accumulators), its zero-point
unit and one PE. (The PE array alone is almost the whole design; on this machine one synthesis of
it takes a quarter of an hour per flow, so it is not measured separately.)

The HAP poster ("HAP: Efficient Quantization Harnessing Adaptive Precision for DNN Hardware
Acceleration", DAC 2026) gives no resource figures, so the plan has no paper figures; the Stripes
array of equal compute is measured by ``python -m bench.hap.iso_cost`` (section ``iso_cost``).
"""

from ..plan import CostPart, CostPlan

__all__ = ["COST"]

_ARRAY = {"rows": 8, "cols": 16, "acc_bits": 32}

COST = CostPlan(
    parts=(
        CostPart("hap_array", "HAP array: 8 x 16 bit-serial PEs, zero-point unit, tile sequencer, drain with 8-bit combine",
                 design="hap_array", params=_ARRAY, quick={"rows": 2, "cols": 4}),
        CostPart("zero_point", "zero-point reuse unit: 8 rows of 5 x 9-bit products into 32-bit sums",
                 component="hdl.hap.zero_point:ZeroPointUnit", params=_ARRAY, quick={"rows": 2, "cols": 4}),
        CostPart("pe", "one bit-serial PE: AND and 32-bit accumulator",
                 component="hdl.hap.pe:BitSerialPE", params={"acc_bits": 32}),
    ),
    config={**_ARRAY, "max_precision": 8, "weight_digit_bits": 4},
)
