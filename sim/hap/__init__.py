"""HAP testbenches. ``BENCHES`` maps each registered HAP design to the cocotb module that verifies it
(collected by :mod:`sim.benches`)."""

BENCHES = {
    "hap_array": "sim.hap.tb_hap_array",
}
