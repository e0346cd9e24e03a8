"""SBQ accelerator: term encoder, term generator, compute lanes and inner-product unit."""

from ..registry import Design, Param
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


def _check_comp(params: dict) -> None:
    if params["comp"] > params["budget"]:
        raise ValueError(
            f"comp must be <= budget (a lane queues at most one pair per cycle), "
            f"got comp={params['comp']} budget={params['budget']}"
        )


def _lane_params(default_budget: int = 4) -> tuple[Param, ...]:
    return (
        Param("budget", default_budget, "term products per multiplication (B)", min=1, max=16),
        Param("comp", 4, "compensation pairs queued per multiplication at most (C <= B)", min=0, max=16),
        Param("depth", 4, "term queue depth (D)", min=1, max=64),
        Param("wbits", 4, "weight width (activations are int8)", choices=(4, 8)),
    )


DESIGNS = [
    Design(
        name="sbq_encoder",
        summary="SBQ leading-one term encoder with sign-extension elimination (combinational)",
        build=lambda bits: TermEncoder(bits),
        params=(Param("bits", 8, "signed operand width", choices=(4, 8)),),
    ),
    Design(
        name="sbq_lane",
        summary="SBQ compute lane: one multiplication per B cycles, term queue, ping-pong result (streams)",
        build=lambda budget, comp, depth, wbits: ComputeLane(budget, comp, depth, wbits),
        params=_lane_params(),
        check=_check_comp,
    ),
    Design(
        name="sbq_ipu",
        summary="SBQ inner product unit: int8 x int4/int8 streams, run-time length, systolic aggregation",
        build=lambda lanes, budget, comp, depth, wbits: InnerProductUnit(lanes, budget, comp, depth, wbits),
        params=(Param("lanes", 16, "compute lanes (elements per transfer)", min=1, max=64), *_lane_params()),
        check=_check_comp,
    ),
]
