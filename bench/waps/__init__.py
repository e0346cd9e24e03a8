"""WAPS cost plan (``python -m bench.cost waps``): the WAPS PE and its baseline without WAPS at their
defaults (16 x 16 products per cycle, W4A4, n = 4, 24-bit accumulators, 16-bit requantization
multipliers, 4-bit outputs; a 4 x 4 array with ``--quick``) and the parts that differ between them.

``python -m bench.waps.overhead`` adds the overhead figures (section ``overhead``): the cycles of a
group change measured in simulation, the area overhead with every multiplier in LUTs, and the Fmax
of both PEs from this plan's run.

Paper figures: "WAPS-Quant: Low-Bit Post-Training Quantization Using Weight-Activation Product
Scaling" (IEEE Access), appendices A and B: the WAPS PE costs 2.4% more area than the plain PE
(ASIC) and 4 extra cycles for 3 groups.
"""

from ..plan import CostPart, CostPlan

__all__ = ["COST", "PE", "QUICK", "PAPER"]

#: The PE parameters every part is measured at.
PE = {"inputs": 16, "outputs": 16, "w_bits": 4, "a_bits": 4, "n": 4, "acc_bits": 24, "mult_bits": 16, "out_bits": 4}
QUICK = {"inputs": 4, "outputs": 4}
_SUM = 12  # adder-tree width at 16 inputs, W4A4 (hdl.waps.layouts.sum_bits)

PAPER = {"area_overhead_pct": 2.4, "extra_cycles_3_groups": 4, "area_basis": "ASIC"}

COST = CostPlan(
    parts=(
        CostPart("waps_pe", "WAPS PE: 16 x 16 MAC array, D1, 16 group scalers (shift + 3-to-1 mux), D2, requantizer",
                 design="waps_pe", params=PE, quick=QUICK),
        CostPart("mac_pe", "baseline PE: the same MAC array and requantizer, one accumulator",
                 design="mac_pe", params=PE, quick=QUICK),
        CostPart("group_accumulator", "WAPS accumulator: D1, S, 16 group scalers, D2 (24 bits)",
                 component="hdl.waps.group_accumulator:GroupAccumulator",
                 params={"outputs": 16, "sum_width": _SUM, "acc_bits": 24, "n": 4}),
        CostPart("accumulator", "baseline accumulator: D1 (24 bits)", component="hdl.waps.accumulator:Accumulator",
                 params={"outputs": 16, "sum_width": _SUM, "acc_bits": 24}),
        CostPart("group_scaler", "one group scaler: fixed shift by 4 and 3-to-1 mux of S, S - (S >> 4), S + (S >> 4)",
                 component="hdl.waps.group_scaler:GroupScaler", params={"width": 24, "n": 4}),
    ),
    ratios={
        "waps_over_mac": ("waps_pe", "mac_pe"),
        "ecp5_waps_over_mac": ("waps_pe", "mac_pe", "ecp5"),
        "cmos_waps_over_mac": ("waps_pe", "mac_pe", "cmos"),
        "group_accumulator_over_accumulator": ("group_accumulator", "accumulator"),
    },
    paper=PAPER,
    config={**PE},
)
