"""Amaranth HDL implementations of the quantized-DNN accelerators; see ``hdl.registry``."""
