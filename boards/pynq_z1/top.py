"""The Zynq top level of the PYNQ-Z1: the processing system (PS7) wired to an eDQA system.

    PynqZ1Top(*, system)    # system: a component shaped like boards.pynq_z1.system.EdqaSystem

**Which build path.** The processing system is the raw ``PS7`` primitive, instantiated with
``Instance("PS7", ...)``, not Xilinx's ``processing_system7`` IP in a block design. So the build makes
no ``.hwh`` hardware handoff and the pynq ``Overlay`` class cannot load the bitstream; the host
driver uses ``pynq.Bitstream(...).download()``, ``pynq.MMIO`` and ``pynq.allocate`` instead. The PYNQ
boot image has already configured the DDR, the MIO pins and the PS clocks (FCLK_CLK0 included);
downloading a bitstream programs the fabric only, which is why the PS7's DDR/MIO pins stay
unconnected here. Whether Vivado accepts a raw PS7 without the IP has not been verified on our
machines (there is no Vivado here); yosys keeps it as a black-box cell.
The PS7's port names and widths are those of yosys's Xilinx cell library (``cells_xtra.v``);
``tests/test_pynq_z1_top.py`` checks every connection against it.

**Clock and reset.** The ``sync`` domain runs on FCLK_CLK0 (``FCLKCLK[0]``, :data:`FCLK0_HZ`, set by
the driver) and is reset from ``FCLKRESETN[0]`` (active low, asynchronous to it) through a
:class:`~amaranth.lib.cdc.ResetSynchronizer`. Both AXI ports of the PS7 are clocked by it too.

**M_AXI_GP0 -> ``system.s_axil``.** The PS maps M_AXI_GP0 at :data:`GP0_BASE`; the slave sees the low
address bits. GP0 is AXI3 with 12-bit IDs; an ID echo keeps the ID of the accepted address (``AWID``
at the AW handshake, ``ARID`` at the AR handshake) and returns it on ``BID``/``RID``, with
``RLAST`` always 1. One write and one read are outstanding at most: a new address is held back
until the previous response has been taken. Only single 32-bit beats are supported, which is what
the ARM's MMIO accesses are; bursts (``AWLEN``/``ARLEN`` > 0) are not.

**``system.m_axi`` -> S_AXI_HP0.** 64-bit AXI3 into the DDR controller. ``AWLEN``/``ARLEN`` take the
low 4 bits (the DMA issues 0..15), ``AWSIZE``/``ARSIZE`` the low 2 bits (8-byte beats are size 3),
``AWID`` and ``WID`` are both 0 so that write data always matches its address, lock and QoS are
0 and the single-issue limits (``RDISSUECAP1EN``/``WRISSUECAP1EN``) are off.

**Interrupt and LEDs.** ``IRQF2P[0]`` is ``system.irq`` (IRQ_F2P[0], GIC interrupt 61); the other
``IRQF2P`` bits are 0. Given a platform: LD0 shows ``system.busy``, LD1 ``system.error`` and
LD3 blinks from FCLK_CLK0 (about 0.75 Hz at 100 MHz) while the domain is out of reset.
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockDomain, ClockSignal, Const, Elaboratable, Instance, Module, Shape, Signal
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out

from .axi import axi_lite_signature, axi_master_signature

__all__ = ["PynqZ1Top", "system_signature", "FCLK0_HZ", "GP0_BASE", "IRQ_F2P_WIDTH"]

#: The frequency the driver sets FCLK_CLK0 to, and the clock constraint of the ``sync`` domain.
FCLK0_HZ = 100_000_000
#: Where the PS maps M_AXI_GP0 in the ARM's address space.
GP0_BASE = 0x4000_0000
#: Width of the PS7's ``IRQF2P`` input.
IRQ_F2P_WIDTH = 20
# Width of GP0's AXI3 IDs.
_GP0_ID_WIDTH = 12


def system_signature(addr_width: int) -> wiring.Signature:
    """The signature a system must have (slave's view): ``EdqaSystem``'s, register space ``addr_width`` bits."""
    return wiring.Signature({
        "s_axil": In(axi_lite_signature(addr_width)),
        "m_axi": Out(axi_master_signature()),
        "irq": Out(1), "busy": Out(1), "error": Out(1),
    })


def _check_system(system) -> int:
    """The register address width of ``system``, after checking it has :func:`system_signature`."""
    expected = "a wiring.Component with members s_axil, m_axi, irq, busy, error (as EdqaSystem)"
    if not isinstance(system, wiring.Component):
        raise TypeError(f"system must be {expected}, got {system!r}")
    members = system.signature.members
    try:
        addr_width = Shape.cast(members["s_axil"].signature.members["awaddr"].shape).width
    except (KeyError, AttributeError, TypeError):
        raise TypeError(f"system must be {expected}; its members are {', '.join(members) or 'none'}") from None
    if not 1 <= addr_width <= 32 or members != system_signature(addr_width).members:
        raise TypeError(f"system must be {expected}; its signature differs: {system.signature!r}")
    return addr_width


class _IdEcho(Elaboratable):
    """M_AXI_GP0 (AXI3 master, 12-bit IDs, 32-bit data) onto an AXI4-Lite slave, echoing the IDs.

    ``gp0`` holds the PS7's port signals by AXI name (``awaddr``, ``awid``, ``bid``, ...); ``slave`` is
    the system's ``s_axil``. Single clock (``sync``). A held-back address waits in the PS, so the
    slave never sees a second address before the PS has taken the previous response.
    """

    def __init__(self, gp0: dict, slave):
        self.gp0, self.slave = gp0, slave

    def elaborate(self, platform):
        m = Module()
        g, s = self.gp0, self.slave
        width = len(s.awaddr)
        write_id, read_id = Signal(_GP0_ID_WIDTH), Signal(_GP0_ID_WIDTH)
        write_open, read_open = Signal(), Signal()  # an address accepted, its response not yet taken

        m.d.comb += [
            s.awaddr.eq(g["awaddr"][:width]), s.awvalid.eq(g["awvalid"] & ~write_open),
            g["awready"].eq(s.awready & ~write_open),
            s.wdata.eq(g["wdata"]), s.wstrb.eq(g["wstrb"]), s.wvalid.eq(g["wvalid"]), g["wready"].eq(s.wready),
            g["bid"].eq(write_id), g["bresp"].eq(s.bresp), g["bvalid"].eq(s.bvalid), s.bready.eq(g["bready"]),
            s.araddr.eq(g["araddr"][:width]), s.arvalid.eq(g["arvalid"] & ~read_open),
            g["arready"].eq(s.arready & ~read_open),
            g["rid"].eq(read_id), g["rdata"].eq(s.rdata), g["rresp"].eq(s.rresp), g["rlast"].eq(1),
            g["rvalid"].eq(s.rvalid), s.rready.eq(g["rready"]),
        ]
        with m.If(g["awvalid"] & g["awready"]):
            m.d.sync += [write_id.eq(g["awid"]), write_open.eq(1)]
        with m.Elif(s.bvalid & s.bready):
            m.d.sync += write_open.eq(0)
        with m.If(g["arvalid"] & g["arready"]):
            m.d.sync += [read_id.eq(g["arid"]), read_open.eq(1)]
        with m.Elif(s.rvalid & s.rready):
            m.d.sync += read_open.eq(0)
        return m


def _gp0_signals() -> dict:
    """The M_AXI_GP0 signals of the PS7 by AXI name, with the PS7's widths."""
    widths = {
        "awid": _GP0_ID_WIDTH, "awaddr": 32, "awvalid": 1, "awready": 1,
        "wdata": 32, "wstrb": 4, "wvalid": 1, "wready": 1,
        "bid": _GP0_ID_WIDTH, "bresp": 2, "bvalid": 1, "bready": 1,
        "arid": _GP0_ID_WIDTH, "araddr": 32, "arvalid": 1, "arready": 1,
        "rid": _GP0_ID_WIDTH, "rdata": 32, "rresp": 2, "rlast": 1, "rvalid": 1, "rready": 1,
    }
    return {name: Signal(width, name=f"gp0_{name}") for name, width in widths.items()}


# Direction of each GP0 signal as the PS7 sees it (the PS is the master).
_GP0_PS_INPUTS = ("awready", "wready", "bid", "bresp", "bvalid", "arready", "rid", "rdata", "rresp", "rlast", "rvalid")


class PynqZ1Top(Elaboratable):
    """The PS7, its clock and reset, and ``system`` on M_AXI_GP0, S_AXI_HP0 and IRQ_F2P[0] (see the module).

    ``system`` is any ``wiring.Component`` with :func:`system_signature` (``EdqaSystem``'s) in the
    ``sync`` domain; a wrong one raises ``TypeError``. The top has no ports of its own: with a platform
    it drives LEDs LD0, LD1 and LD3; without one (``verilog.convert(top, ports=[])``) it drives none.
    """

    def __init__(self, *, system):
        self.addr_width = _check_system(system)
        self.system = system

    def elaborate(self, platform):
        m = Module()
        m.submodules.system = system = self.system

        fclk, fclk_resetn = Signal(4), Signal(4)
        clk = Signal()  # FCLK_CLK0 as a plain signal: a clock constraint needs one
        m.domains.sync = ClockDomain("sync")
        m.d.comb += [clk.eq(fclk[0]), ClockSignal("sync").eq(clk)]
        m.submodules.reset_sync = ResetSynchronizer(~fclk_resetn[0], domain="sync")
        if platform is not None:
            platform.add_clock_constraint(clk, FCLK0_HZ)

        gp0 = _gp0_signals()
        m.submodules.gp0_id_echo = _IdEcho(gp0, system.s_axil)
        gp0_ports = {f"{'i' if name in _GP0_PS_INPUTS else 'o'}_MAXIGP0{name.upper()}": signal
                     for name, signal in gp0.items()}

        hp0 = system.m_axi
        hp0_ports = {
            f"i_SAXIHP0{name.upper()}": getattr(hp0, name)
            for name in ("awaddr", "awburst", "awcache", "awprot", "awvalid", "wdata", "wstrb", "wlast", "wvalid",
                         "bready", "araddr", "arid", "arburst", "arcache", "arprot", "arvalid", "rready")
        } | {
            f"o_SAXIHP0{name.upper()}": getattr(hp0, name)
            for name in ("awready", "wready", "bid", "bresp", "bvalid", "arready", "rid", "rdata", "rresp", "rlast",
                         "rvalid")
        } | {
            "i_SAXIHP0AWID": Const(0, 6), "i_SAXIHP0WID": Const(0, 6),
            "i_SAXIHP0AWLEN": hp0.awlen[:4], "i_SAXIHP0ARLEN": hp0.arlen[:4],
            "i_SAXIHP0AWSIZE": hp0.awsize[:2], "i_SAXIHP0ARSIZE": hp0.arsize[:2],
            "i_SAXIHP0AWLOCK": Const(0, 2), "i_SAXIHP0ARLOCK": Const(0, 2),
            "i_SAXIHP0AWQOS": Const(0, 4), "i_SAXIHP0ARQOS": Const(0, 4),
            "i_SAXIHP0RDISSUECAP1EN": Const(0, 1), "i_SAXIHP0WRISSUECAP1EN": Const(0, 1),
        }

        m.submodules.ps7 = Instance(
            "PS7",
            o_FCLKCLK=fclk, o_FCLKRESETN=fclk_resetn, i_FCLKCLKTRIGN=Const(0, 4),
            i_MAXIGP0ACLK=clk, i_SAXIHP0ACLK=clk,
            i_IRQF2P=Cat(system.irq, Const(0, IRQ_F2P_WIDTH - 1)),
            **gp0_ports, **hp0_ports,
        )

        if platform is not None:
            heartbeat = Signal(FCLK0_HZ.bit_length())  # the top bit toggles every 2**26 cycles at 100 MHz
            m.d.sync += heartbeat.eq(heartbeat + 1)
            for index, value in ((0, system.busy), (1, system.error), (3, heartbeat[-1])):
                m.submodules[f"led{index}"] = led = io.Buffer("o", platform.request("led", index, dir="-"))
                m.d.comb += led.o.eq(value)
        return m
