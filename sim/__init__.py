"""cocotb testbenches that check the RTL in ``hdl`` against the golden models in ``golden``."""
