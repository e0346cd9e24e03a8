"""Simulation of the PYNQ-Z1 eDQA system: the host driver runs unchanged against the simulated design
(:mod:`sim.pynq_z1.backend`), with cocotbext-axi's AXI-Lite master as the ARM and its AXI RAM as DDR."""
