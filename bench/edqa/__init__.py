"""eDQA cost plan (``python -m bench.cost edqa``): every registered eDQA design at its defaults (N = 3,
m = 3, channels of up to 4096 elements) and the encoder's two sub-blocks.

Paper figures: "eDQA: Efficient Deep Quantization of DNN Activations on Edge Devices", Table 4
(resources of the authors' PYNQ-Z1 accelerator, quantization and de-quantization of one channel) and
Table 3 (its latency per channel, in microseconds, for the channel sizes of ResNet-18's layers).
"""

from ..plan import CostPart, CostPlan

__all__ = ["COST", "PAPER_LATENCY_US", "PAPER_RESOURCES"]

_CORE = {"n_bits": 3, "m_extra": 3, "max_length": 4096}
_CODER = {"m_extra": 3, "max_length": 4096}

#: Table 3: channel size -> (quantize + encode, decode + de-quantize) in microseconds.
PAPER_LATENCY_US = {49: (24, 4), 196: (85, 14), 784: (329, 52), 3136: (1303, 205)}
#: Table 4: the eDQA accelerator on the xc7z020.
PAPER_RESOURCES = {"lut": 16800, "ff": 14600, "dsp": 12, "bram": 42}

COST = CostPlan(
    parts=(
        CostPart("quantizer", "float32 quantizer: 24 x 24-bit product, two roundings, clamp and shift",
                 design="edqa_quantizer", params=_CORE, ecp5_dsp=True),
        CostPart("huffman_encoder", "histogram, code-length builder, canonical codes, 4-code rows, bit packer, 4096 x 3-bit buffer",
                 design="edqa_huffman_encoder", params=_CODER),
        CostPart("huffman_decoder", "codebook checks, code limits per length, 64-bit bit buffer, symbol-parallel code matching",
                 design="edqa_huffman_decoder", params=_CODER),
        CostPart("dequantizer", "float32 de-quantizer: (N + m) x 24-bit product, normalization, rounding",
                 design="edqa_dequantizer", params=_CORE, ecp5_dsp=True),
        CostPart("tree_builder", "code lengths of 8 symbols by two-smallest merges",
                 component="hdl.edqa.tree_builder:TreeBuilder", params={"m_extra": 3, "max_count": 4096}),
        CostPart("bit_packer", "rows of up to 28 bits (four codes of 1..7 bits) into 32-bit words, as in the encoder",
                 component="hdl.edqa.bit_packer:BitPacker", params={"max_bits": 28}),
        CostPart("core", "the whole eDQA core: quantizer, encoder, decoder, de-quantizer", design="edqa",
                 params=_CORE, ecp5_dsp=True),
    ),
    paper={"resources_xc7z020": PAPER_RESOURCES,
           "latency_us": {str(size): {"quant": q, "dequant": d} for size, (q, d) in PAPER_LATENCY_US.items()}},
    config={**_CORE},
)
