"""SBQ cost plan: the accelerator's parts and the Table V baseline sorters (``python -m bench.cost sbq``).

Configuration: B = C = D = 4, int8 activations x int4 weights (the paper's W4A8 base model), 16
lanes. The term generator is measured at ``wbits`` 4 (4 x 2 = 8 term pairs, as in the IPU) and at
``wbits`` 8 (4 x 4 = 16 pairs): the Table V ratios divide the sorters of 16 4-bit product offsets by
the ``wbits`` 8 generator, which ranks the same 16 offsets. The paper-style pair generator
(``hdl/sbq/pair_generator.py``, not in the IPU) is measured beside it. ``bench/sbq/compare.py``
runs the Table V comparisons like for like and the plain MAC array baseline.

Paper figures: "SBQ: Exploiting Significant Bits for Efficient and Accurate Post-Training DNN
Quantization", J. Ling et al., DATE 2025: Table V (28 nm area of the sorters and of the term
generator) and Table IV (area of one lane and of the inner product unit).
"""

from ..plan import CostPart, CostPlan

__all__ = ["COST"]

_LANE = {"budget": 4, "comp": 4, "depth": 4, "wbits": 4}
_SORTER = {"count": 16, "width": 4}

_PAPER_AREA_UM2 = {"bubble_sorter": 2126.599, "bitonic_sorter": 1685.612, "term_generator": 87.220}

COST = CostPlan(
    parts=(
        CostPart("term_encoder_a8", "term encoder for an int8 operand (combinational)",
                 design="sbq_encoder", params={"bits": 8}),
        CostPart("term_encoder_w4", "term encoder for an int4 operand (combinational)",
                 design="sbq_encoder", params={"bits": 4}),
        CostPart("term_multiplier", "2-bit signed term multiplier with shifter (combinational)",
                 component="hdl.sbq.term_multiplier:TermMultiplier"),
        CostPart("term_queue", "term queue, 4 entries of a term pair",
                 component="hdl.sbq.term_queue:TermQueue", params={"depth": 4}),
        CostPart("term_generator", "term generator, int8 x int4: 4 x 2 = 8 pairs",
                 component="hdl.sbq.term_generator:TermGenerator", params={"budget": 4, "comp": 4, "wbits": 4}),
        CostPart("term_generator_w8", "term generator, int8 x int8: 4 x 4 = 16 pairs",
                 component="hdl.sbq.term_generator:TermGenerator", params={"budget": 4, "comp": 4, "wbits": 8}),
        CostPart("pair_generator", "paper-style pair generator, int8 x int4 (ranks 0..3 fixed, one walker)",
                 component="hdl.sbq.pair_generator:PairGenerator", params={"budget": 4, "comp": 4, "wbits": 4}),
        CostPart("pair_generator_w8", "paper-style pair generator, int8 x int8: 16 pairs",
                 component="hdl.sbq.pair_generator:PairGenerator", params={"budget": 4, "comp": 4, "wbits": 8}),
        CostPart("lane", "compute lane: 2 term encoders, term generator, multiplier, queue, accumulator, "
                 "ping-pong output", design="sbq_lane", params=_LANE),
        CostPart("bubble_sorter", "bubble sorting network, 16 4-bit keys, 120 compare-exchanges",
                 component="hdl.sbq.sorters:BubbleSorter", params=_SORTER),
        CostPart("bitonic_sorter", "bitonic sorting network, 16 4-bit keys, 80 compare-exchanges",
                 component="hdl.sbq.sorters:BitonicSorter", params=_SORTER),
        # abc9 on the indexed bubble sorter ran past 8 minutes here: measured only when --only names them.
        CostPart("bubble_sorter_indexed", "bubble sorter that also outputs each key's pair index",
                 component="hdl.sbq.sorters:BubbleSorter", params={**_SORTER, "indexed": True}, default=False),
        CostPart("bitonic_sorter_indexed", "bitonic sorter that also outputs each key's pair index",
                 component="hdl.sbq.sorters:BitonicSorter", params={**_SORTER, "indexed": True}, default=False),
        CostPart("ipu", "inner product unit, 16 lanes (2 with --quick)", design="sbq_ipu",
                 params={"lanes": 16, **_LANE}, quick={"lanes": 2}, fmax_proxy="lane"),
    ),
    ratios={
        "bubble_over_term_generator": ("bubble_sorter", "term_generator_w8"),
        "bitonic_over_term_generator": ("bitonic_sorter", "term_generator_w8"),
        "bubble_over_term_generator_w4": ("bubble_sorter", "term_generator"),
        "bitonic_over_term_generator_w4": ("bitonic_sorter", "term_generator"),
        "bubble_indexed_over_term_generator": ("bubble_sorter_indexed", "term_generator_w8"),
        "bitonic_indexed_over_term_generator": ("bitonic_sorter_indexed", "term_generator_w8"),
        "ecp5_bubble_over_term_generator": ("bubble_sorter", "term_generator_w8", "ecp5"),
        "ecp5_bitonic_over_term_generator": ("bitonic_sorter", "term_generator_w8", "ecp5"),
        "cmos_bubble_over_term_generator": ("bubble_sorter", "term_generator_w8", "cmos"),
        "cmos_bitonic_over_term_generator": ("bitonic_sorter", "term_generator_w8", "cmos"),
        "cmos_bubble_over_pair_generator": ("bubble_sorter", "pair_generator_w8", "cmos"),
        "cmos_bitonic_over_pair_generator": ("bitonic_sorter", "pair_generator_w8", "cmos"),
        "cmos_term_generator_over_pair_generator": ("term_generator_w8", "pair_generator_w8", "cmos"),
    },
    paper={
        **{f"{name}_area_um2": area for name, area in _PAPER_AREA_UM2.items()},
        "claimed_saving": "19~25x",
        "lane_area_share": {"multiplier": 0.372, "term_generator": 0.359, "term_queue": 0.269},
        "ipu_area_um2": 4110.292,
        "term_encoder_area_um2": 145.432,
        # Table V's ratios in area, the paper's side of our LUT ratios of the same name.
        "bubble_over_term_generator": round(_PAPER_AREA_UM2["bubble_sorter"] / _PAPER_AREA_UM2["term_generator"], 2),
        "bitonic_over_term_generator": round(_PAPER_AREA_UM2["bitonic_sorter"] / _PAPER_AREA_UM2["term_generator"], 2),
    },
    config={
        **_LANE,
        "abits": 8,
        "lanes": 16,
        "ratio_basis": "sorters of 16 4-bit offsets over the term generator ranking the same 16 pairs (wbits 8; "
                       "*_w4: the W4A8 generator, 8 pairs)",
    },
)
