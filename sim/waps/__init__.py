"""WAPS testbenches. ``BENCHES`` maps each registered WAPS design to the cocotb module that verifies
it (collected by :mod:`sim.benches`)."""

BENCHES = {
    "waps_pe": "sim.waps.tb_pe",
    "mac_pe": "sim.waps.tb_pe",
}
