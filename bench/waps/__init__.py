"""WAPS cost plan (``python -m bench.cost waps``): the WAPS PE and its baseline without WAPS, and the
parts that differ between them, synthesized as a slice of two output lanes of the default 16 x 16
PE (:data:`SLICE`: 16 inputs, W4A4, n = 4, 24-bit accumulators, 16-bit requantization multipliers,
4-bit outputs; one lane with ``--quick``).

Every part of the PE is per output lane (a lane is 16 products, an adder tree, its accumulator
registers and scaler, its requantizer), only the control bits are shared, so the slice has the
array's logic depth (its Fmax) and the array's ratios of area; the whole 16 x 16 PE is eight
slices. (On the shared build machine, yosys and nextpnr on the whole array ran past the time
available.)

``python -m bench.waps.overhead`` adds the overhead figures (section ``overhead``): the cycles of a
group change measured in simulation, the area overhead with every multiplier in LUTs, and the Fmax
of both PEs from this plan's run.

Paper figures: "WAPS-Quant: Low-Bit Post-Training Quantization Using Weight-Activation Product
Scaling" (IEEE Access), appendices A and B: the WAPS PE costs 2.4% more area than the plain PE
(ASIC) and 4 extra cycles for 3 groups.
"""

from ..plan import CostPart, CostPlan

__all__ = ["COST", "PE", "SLICE", "QUICK", "PAPER"]

#: The PE parameters every part is measured at.
PE = {"inputs": 16, "outputs": 16, "w_bits": 4, "a_bits": 4, "n": 4, "acc_bits": 24, "mult_bits": 16, "out_bits": 4}
#: What the cost runs synthesize: two output lanes of :data:`PE`.
SLICE = {**PE, "outputs": 2}
QUICK = {"outputs": 1}
_SUM = 12  # adder-tree width at 16 inputs, W4A4 (hdl.waps.layouts.sum_bits)

PAPER = {"area_overhead_pct": 2.4, "extra_cycles_3_groups": 4, "area_basis": "ASIC"}

COST = CostPlan(
    parts=(
        CostPart("waps_pe", "WAPS PE, two lanes: 16 x 2 MACs, D1, S, 2 group scalers (shift + 3-to-1 mux), D2, "
                 "requantizer", design="waps_pe", params=SLICE, quick=QUICK),
        CostPart("mac_pe", "baseline PE, two lanes: the same MACs and requantizer, one accumulator",
                 design="mac_pe", params=SLICE, quick=QUICK),
        CostPart("group_accumulator", "WAPS accumulator, two lanes: D1, S, group scalers, D2 (24 bits)",
                 component="hdl.waps.group_accumulator:GroupAccumulator",
                 params={"outputs": 2, "sum_width": _SUM, "acc_bits": 24, "n": 4}),
        CostPart("accumulator", "baseline accumulator, two lanes: D1 (24 bits)",
                 component="hdl.waps.accumulator:Accumulator", params={"outputs": 2, "sum_width": _SUM, "acc_bits": 24}),
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
    config={**SLICE, "slice_of": "the 16 x 16 PE: two of its sixteen output lanes"},
)
