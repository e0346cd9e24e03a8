"""Fast unit tests of sub-blocks in Amaranth's own simulator (no Verilog, no cocotb).

Registered designs are verified with cocotb on Icarus and Verilator; the parts inside them (term
generator, queue, multiplier, and later Huffman coders or bit-serial PEs) are checked here against
the golden model cycle by cycle, in pure Python, in well under a second each.
"""

from __future__ import annotations

from pathlib import Path

from amaranth.sim import Simulator

__all__ = ["simulate"]

PERIOD = 1e-8


def simulate(dut, *testbenches, clocked: bool = True, vcd: str | Path | None = None) -> None:
    """Run the async ``testbenches`` (``async def tb(ctx)``) on ``dut`` until all return.

    ``clocked`` adds a 100 MHz clock for the ``sync`` domain; ``vcd`` writes a waveform.
    """
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(PERIOD)
    for testbench in testbenches:
        sim.add_testbench(testbench)
    if vcd is None:
        sim.run()
    else:
        with sim.write_vcd(str(vcd)):
            sim.run()
