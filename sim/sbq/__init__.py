"""SBQ testbenches. ``BENCHES`` maps each registered SBQ design to the cocotb module that verifies it
(collected by :mod:`sim.benches`)."""

BENCHES = {
    "sbq_encoder": "sim.sbq.tb_term_encoder",
    "sbq_lane": "sim.sbq.tb_compute_lane",
    "sbq_ipu": "sim.sbq.tb_inner_product_unit",
}
