"""cocotb testbench: the SBQ term encoder against ``golden.sbq.encode`` on every input value."""

import cocotb
import torch
from cocotb.triggers import Timer

from golden.sbq import encode
from sim.harness import bench_params


def _slot_fields(word: int, width: int, slots: int) -> list[int]:
    return [(word >> (width * s)) & ((1 << width) - 1) for s in range(slots)]


@cocotb.test()
async def every_value_matches_golden(dut):
    """All 2**bits operands: every output bit equals the golden encoding (invalid slots zero)."""
    bits = bench_params()["bits"]
    slots = bits // 2
    values = torch.arange(-(1 << (bits - 1)), 1 << (bits - 1))
    mag, off, neg, valid = encode(values, bits)
    mismatches = []
    await Timer(1, "ns")  # let Icarus start its always @* processes before the first write
    for i, v in enumerate(values.tolist()):
        dut.x.value = v
        await Timer(1, "ns")
        expected = {
            "mag": sum(int(mag[i, s]) << (2 * s) for s in range(slots)),
            "off": sum(int(off[i, s]) << (3 * s) for s in range(slots)),
            "neg": sum(int(neg[i, s]) << s for s in range(slots)),
            "valid": sum(int(valid[i, s]) << s for s in range(slots)),
        }
        got = {name: int(getattr(dut, name).value) for name in expected}
        if got != expected:
            mismatches.append((v, got, expected))
    assert not mismatches, (
        f"{len(mismatches)} of {len(values)} values differ; first: x={mismatches[0][0]} "
        f"rtl={mismatches[0][1]} golden={mismatches[0][2]}"
    )
    dut._log.info("all %d values of a %d-bit operand match the golden encoding", len(values), bits)
