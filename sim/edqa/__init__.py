"""eDQA testbenches. ``BENCHES`` maps each registered eDQA design to the cocotb module that verifies
it (collected by :mod:`sim.benches`)."""

BENCHES = {
    "edqa_quantizer": "sim.edqa.tb_quantizer",
    "edqa_huffman_encoder": "sim.edqa.tb_huffman_encoder",
    "edqa_huffman_decoder": "sim.edqa.tb_huffman_decoder",
    "edqa_dequantizer": "sim.edqa.tb_dequantizer",
    "edqa": "sim.edqa.tb_core",
}
