"""cocotb testbench: the SBQ term encoder against ``golden.sbq.encode`` on every input value."""
# amaranth: UnusedElaboratable=no

import cocotb
import torch
from amaranth.lib import data
from cocotb.triggers import Timer

from golden.sbq import encode
from hdl.sbq import TermEncoder
from sim.harness import bench_params
from sim.streams import bits


@cocotb.test()
async def every_value_matches_golden(dut):
    """All 2**bits operands: every output bit equals the golden encoding (invalid slots zero)."""
    width = bench_params()["bits"]
    ports = TermEncoder(bits=width).signature.members  # the RTL's own port layouts
    slots = width // 2
    flags = data.ArrayLayout(1, slots)  # neg and valid: bit i is slot i
    values = torch.arange(-(1 << (width - 1)), 1 << (width - 1))
    mag, off, neg, valid = encode(values, width)
    mismatches = []
    await Timer(1, "ns")  # let Icarus start its always @* processes before the first write
    for i, v in enumerate(values.tolist()):
        dut.x.value = v
        await Timer(1, "ns")
        expected = {
            "mag": bits(ports["mag"].shape.const(mag[i].tolist())),
            "off": bits(ports["off"].shape.const(off[i].tolist())),
            "neg": bits(flags.const([int(b) for b in neg[i]])),
            "valid": bits(flags.const([int(b) for b in valid[i]])),
        }
        got = {name: int(getattr(dut, name).value) for name in expected}
        if got != expected:
            mismatches.append((v, got, expected))
    assert not mismatches, (
        f"{len(mismatches)} of {len(values)} values differ; first: x={mismatches[0][0]} "
        f"rtl={mismatches[0][1]} golden={mismatches[0][2]}"
    )
    dut._log.info("all %d values of a %d-bit operand match the golden encoding", len(values), width)
