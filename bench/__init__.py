"""Benchmarks: synthesis cost (yosys, nextpnr) and other measurements that write docs/results/."""
