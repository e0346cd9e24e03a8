"""Which cocotb testbench verifies each registered design (used by ``sim.demo``).

Every design in ``hdl.registry`` must appear here; ``sim/test_benches.py`` checks that.
"""

BENCHES = {
    "sbq_encoder": "sim.sbq.tb_term_encoder",
    "sbq_lane": "sim.sbq.tb_compute_lane",
    "sbq_ipu": "sim.sbq.tb_inner_product_unit",
}
