"""An AXI4-Lite register file built from the register classes of :mod:`boards.pynq_z1.registers`."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .axi import OKAY, SLVERR, axi_lite_signature
from .registers import ADDR_WIDTH, REGISTERS, Register

__all__ = ["RegisterFile"]


def _port(register: type[Register]) -> str:
    return register.name.lower()


def _mask(register: type[Register]) -> int:
    mask = 0
    for f in register.fields:
        mask |= f.mask
    return mask


class RegisterFile(wiring.Component):
    """The registers of ``registers`` (default :data:`~boards.pynq_z1.registers.REGISTERS`) on an
    AXI4-Lite slave.

    Ports:

    * ``s_axil``: in, :func:`~boards.pynq_z1.axi.axi_lite_signature` (``ADDR_WIDTH`` bits). A write
      takes its address and data in the same cycle (both valid) and answers on B the cycle after; a
      read answers on R the cycle after its address. One transaction of each kind at a time. Byte
      strobes apply to ``rw`` registers; bits outside the fields read 0.
    * one port per register, named in lower case: ``rw``: out, the value; ``ro``: in, the value the
      hardware shows; ``wo``: out, the word written, with ``<name>_strobe`` (out) high for the one
      cycle after the write.
    * ``busy``: in; while 1, writes to ``rw`` registers, and ``wo`` writes with bit 0 (``start``)
      set, are refused (SLVERR) and pulse ``busy_write`` (out). An offset no register has, and a
      write to an ``ro`` register, answer SLVERR.
    """

    def __init__(self, *, registers=REGISTERS):
        self.registers = tuple(registers)
        members = {"s_axil": In(axi_lite_signature(ADDR_WIDTH)), "busy": In(1), "busy_write": Out(1)}
        for r in self.registers:
            if r.access == "ro":
                members[_port(r)] = In(32)
            else:
                members[_port(r)] = Out(32)
                if r.access == "wo":
                    members[f"{_port(r)}_strobe"] = Out(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        bus = self.s_axil

        # Writes.
        write = bus.awvalid & bus.wvalid & ~bus.bvalid
        m.d.comb += [bus.awready.eq(write), bus.wready.eq(write)]
        byte_mask = Signal(32)
        for i in range(4):
            m.d.comb += byte_mask[8 * i:8 * i + 8].eq(bus.wstrb[i].replicate(8))
        m.d.sync += self.busy_write.eq(0)
        for r in self.registers:
            if r.access == "wo":
                m.d.sync += getattr(self, f"{_port(r)}_strobe").eq(0)
        with m.If(bus.bvalid & bus.bready):
            m.d.sync += bus.bvalid.eq(0)
        with m.If(write):
            m.d.sync += [bus.bvalid.eq(1), bus.bresp.eq(SLVERR)]
            with m.Switch(bus.awaddr[2:]):
                for r in self.registers:
                    if r.access == "ro":
                        continue
                    with m.Case(r.offset >> 2):
                        port = getattr(self, _port(r))
                        refused = self.busy & (1 if r.access == "rw" else bus.wdata[0])
                        with m.If(refused):
                            m.d.sync += self.busy_write.eq(1)
                        with m.Else():
                            m.d.sync += bus.bresp.eq(OKAY)
                            if r.access == "rw":
                                m.d.sync += port.eq(((port & ~byte_mask) | (bus.wdata & byte_mask)) & _mask(r))
                            else:
                                m.d.sync += [port.eq(bus.wdata & _mask(r)), getattr(self, f"{_port(r)}_strobe").eq(1)]

        # Reads.
        read = bus.arvalid & ~bus.rvalid
        m.d.comb += bus.arready.eq(read)
        with m.If(bus.rvalid & bus.rready):
            m.d.sync += bus.rvalid.eq(0)
        with m.If(read):
            m.d.sync += [bus.rvalid.eq(1), bus.rresp.eq(SLVERR), bus.rdata.eq(0)]
            with m.Switch(bus.araddr[2:]):
                for r in self.registers:
                    with m.Case(r.offset >> 2):
                        m.d.sync += bus.rresp.eq(OKAY)
                        if r.access != "wo":
                            m.d.sync += bus.rdata.eq(getattr(self, _port(r)) & _mask(r))
        return m
