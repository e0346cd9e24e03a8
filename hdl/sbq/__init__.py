"""SBQ accelerator: term encoder, term generator, compute lanes and inner-product unit."""

from ..registry import Design, Param
from .term_encoder import TermEncoder, term_slots

__all__ = ["TermEncoder", "term_slots", "DESIGNS"]

DESIGNS = [
    Design(
        name="sbq_encoder",
        summary="SBQ leading-one term encoder with sign-extension elimination (combinational)",
        build=lambda bits: TermEncoder(bits),
        params=(Param("bits", 8, "signed operand width", choices=(4, 8)),),
    ),
]
