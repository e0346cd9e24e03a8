"""cocotb module for the harness self-test: one test that passes or fails on request."""

import os

import cocotb
from cocotb.triggers import Timer


@cocotb.test()
async def outcome_on_request(dut):
    await Timer(1, "ns")
    dut.x.value = 3
    await Timer(1, "ns")
    assert os.environ.get("SELFTEST_FAIL") != "1", "failing on request (harness self-test)"
