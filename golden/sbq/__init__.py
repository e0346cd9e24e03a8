"""SBQ golden model: significant-bit quantization, the integer semantics the RTL in ``hdl/sbq``
reproduces bit for bit.

SBQ is the scheme of "SBQ: Exploiting Significant Bits for Efficient and Accurate Post-Training DNN
Quantization" (J. Ling et al., DATE 2025): operands are split into 2-bit leading-one terms, and each
multiplication computes only its most significant term-pair products under a budget, queueing a few
more for the spare cycles of cheaper multiplications.

Modules: :mod:`~golden.sbq.model` (term encoder, pair ranking, sequential and vectorized inner
product), :mod:`~golden.sbq.kernel` (``dot_matrix`` and its C kernel), :mod:`~golden.sbq.scheme`
(``SBQScheme`` for the real-network harness), :mod:`~golden.sbq.tq` (TQ, the paper's baseline: term
quantization and ``TQScheme``), :mod:`~golden.sbq.accuracy` (the accuracy study,
``python -m golden.sbq.accuracy``, not imported here).

``SCHEMES`` (name -> factory) is what :mod:`golden.schemes` collects for the accelerator ``sbq``.
"""

from . import model
from .kernel import dot_matrix
from .model import (
    ENCODE_BITS,
    MAX_PAIRS,
    decode,
    dot,
    dot_reference,
    encode,
    encode_value,
    fixed_slice_term_count,
    rank_pairs,
    term_count,
)
from .scheme import SBQScheme
from .tq import TQScheme, term_quantize

__all__ = [*model.__all__, "dot_matrix", "SBQScheme", "TQScheme", "term_quantize", "SCHEMES"]

#: The schemes this accelerator contributes to :func:`golden.schemes.get_scheme`.
SCHEMES = {"sbq": SBQScheme, "tq": TQScheme}
