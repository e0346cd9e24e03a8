"""SBQ accelerator: term encoder, term generator, compute lanes and inner-product unit.

The hardware of "SBQ: Exploiting Significant Bits for Efficient and Accurate Post-Training DNN
Quantization" (J. Ling et al., DATE 2025; "the SBQ paper" in the docstrings of this package), with
the exact integer semantics of ``docs/sbq.md``. ``DESIGNS`` lists the generatable designs
(collected by :mod:`hdl.registry`).
"""

from ..design import Design
from .compute_lane import ComputeLane
from .inner_product_unit import InnerProductUnit
from .term_encoder import TermEncoder, term_slots
from .term_generator import TermGenerator
from .term_multiplier import TermMultiplier
from .term_queue import TermQueue

__all__ = [
    "TermEncoder",
    "TermGenerator",
    "TermMultiplier",
    "TermQueue",
    "ComputeLane",
    "InnerProductUnit",
    "term_slots",
    "DESIGNS",
]

_LANE_PARAMS = {
    "budget": "term products per multiplication (B), 1..16",
    "comp": "compensation pairs queued per multiplication at most (C), 0..budget",
    "depth": "term queue depth (D), 1..64",
    "wbits": "weight width, 4 or 8 (activations are int8)",
}

DESIGNS = [
    Design(
        name="sbq_encoder",
        component=TermEncoder,
        summary="SBQ leading-one term encoder with sign-extension elimination (combinational)",
        params={"bits": "signed operand width, 4 or 8"},
    ),
    Design(
        name="sbq_lane",
        component=ComputeLane,
        summary="SBQ compute lane: one multiplication per B cycles, term queue, ping-pong result (streams)",
        params=_LANE_PARAMS,
    ),
    Design(
        name="sbq_ipu",
        component=InnerProductUnit,
        summary="SBQ inner product unit: int8 x int4/int8 streams, run-time length, systolic aggregation",
        params={"lanes": "compute lanes (elements per transfer), 1..64", **_LANE_PARAMS},
    ),
]
