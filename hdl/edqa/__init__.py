"""eDQA accelerator: float32 quantizer, Huffman encoder and decoder of shift errors, de-quantizer.

The hardware of "eDQA: Efficient Deep Quantization of DNN Activations on Edge Devices", with the
exact semantics of ``docs/edqa.md``. ``DESIGNS`` lists the generatable designs (collected by
:mod:`hdl.registry`).
"""

from ..design import Design
from .bit_packer import BitPacker
from .core import EdqaCore
from .dequantizer import DeQuantizer
from .huffman_decoder import HuffmanDecoder
from .huffman_encoder import HuffmanEncoder
from .quantizer import Quantizer
from .tree_builder import TreeBuilder

__all__ = ["Quantizer", "DeQuantizer", "HuffmanEncoder", "HuffmanDecoder", "TreeBuilder", "BitPacker", "EdqaCore",
           "DESIGNS"]

_BITS = {"n_bits": "target bits (N), 2..8", "m_extra": "extra bits of an important channel (m), 1..3"}
_M = {"m_extra": "extra bits of an important channel (m), 1..3: 2^m shift-error symbols"}
_LENGTH = {"max_length": "longest channel (elements), 1..65535"}

DESIGNS = [
    Design(
        name="edqa_quantizer",
        component=Quantizer,
        summary="eDQA quantizer: float32 channel to q (N bits) and shift errors (m bits), one element per cycle",
        params={**_BITS, **_LENGTH},
    ),
    Design(
        name="edqa_huffman_encoder",
        component=HuffmanEncoder,
        summary="eDQA Huffman encoder: histogram, code lengths built in hardware, canonical codes, 32-bit packet",
        params={**_M, **_LENGTH},
    ),
    Design(
        name="edqa_huffman_decoder",
        component=HuffmanDecoder,
        summary="eDQA Huffman decoder: packet to shift errors, one per cycle, flags bad or cut packets",
        params={**_M, **_LENGTH},
    ),
    Design(
        name="edqa_dequantizer",
        component=DeQuantizer,
        summary="eDQA de-quantizer: q and shift errors times a float32 scale, one element per cycle",
        params={**_BITS, **_LENGTH},
    ),
    Design(
        name="edqa",
        component=EdqaCore,
        summary="eDQA core: quantizer + Huffman encoder, Huffman decoder + de-quantizer (streams)",
        params={**_BITS, **_LENGTH},
    ),
]
