"""eDQA golden model: deep quantization of activations with Huffman-coded shift errors, the exact
semantics the RTL in ``hdl/edqa`` reproduces bit for bit.

eDQA is the scheme of "eDQA: Efficient Deep Quantization of DNN Activations on Edge Devices": the
activations of a layer are quantized to ``N`` bits; its *important* channels are quantized with ``m``
bits more and shifted back to ``N`` bits, and the ``m`` bits shifted out (the shift errors) are kept,
Huffman-coded per channel, and added back at de-quantization.

Modules: :mod:`~golden.edqa.model` (scales, quantization and de-quantization in float32 torch),
:mod:`~golden.edqa.huffman` (code lengths, canonical codes, the packet of a channel),
:mod:`~golden.edqa.layer` (Algorithms 1 and 2 on a layer input, the activation-only scheme base),
:mod:`~golden.edqa.ranking` (Algorithm 3, cached rankings), :mod:`~golden.edqa.baselines` (Direct,
PoT, NoisyQuant) and :mod:`~golden.edqa.scheme` (:class:`EDQAScheme`). The studies
``golden.edqa.accuracy`` and ``golden.edqa.compression`` are commands, not imported here.
"""

from . import huffman, model
from .huffman import (
    PACKET_M_EXTRA,
    PacketError,
    canonical_codes,
    decode_packet,
    encode_packet,
    huffman_code_lengths,
    packet_bits,
    packet_words,
    shift_error_counts,
)
from .model import (
    MAX_TOTAL_BITS,
    Scales,
    check_bits,
    dequantize_channel,
    dequantize_layer,
    float32_bits,
    quantize_channel,
    quantize_layer,
    scales,
)

__all__ = [*model.__all__, *huffman.__all__]

from . import baselines, layer, ranking
from .baselines import DirectScheme, NoisyQuantScheme, PoTScheme, pot_fake_quant, pot_levels
from .layer import ActScheme, important_count, important_mask, quantization_error
from .ranking import Ranking, network_ranking, rank_channels
from .scheme import EDQAScheme

__all__ += [
    "ActScheme", "important_count", "important_mask", "quantization_error",
    "Ranking", "network_ranking", "rank_channels",
    "DirectScheme", "PoTScheme", "NoisyQuantScheme", "pot_levels", "pot_fake_quant",
    "EDQAScheme", "SCHEMES",
]

#: The schemes this accelerator contributes to :func:`golden.schemes.get_scheme` (each factory takes
#: keyword options: ``n_bits``; eDQA also ``m_extra``, ``ratio``): activation-only, weights float32.
SCHEMES = {
    "edqa": EDQAScheme,
    "edqa-direct": DirectScheme,
    "edqa-pot": PoTScheme,
    "edqa-noisyquant": NoisyQuantScheme,
}
