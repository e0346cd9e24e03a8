"""AXI signatures of the PYNQ-Z1 system, as Amaranth ``wiring`` signatures (master's view).

* :func:`axi_lite_signature`: AXI4-Lite, 32-bit data: the register file's port. On the Zynq it hangs
  on M_AXI_GP0 (AXI3 with IDs) through :class:`boards.pynq_z1.top`'s ID echo; in simulation
  cocotbext-axi's ``AxiLiteMaster`` drives it.
* :func:`axi_master_signature`: AXI with 64-bit data, the DMA's port. It is AXI3 as S_AXI_HP0 takes it
  (bursts of at most 16 beats, INCR, never across a 4 KiB boundary); ``awlen``/``arlen`` are 8 bits
  wide (AXI4) so cocotbext-axi's ``AxiRam`` fits, and carry 0..15 only; the AXI3 ``WID`` is not a
  port (the top ties it to ``AWID``, which is 0).

A component takes the slave side with ``In(...)``: Verilog ports ``NAME__awaddr`` and so on, which
cocotbext-axi finds with the prefix ``NAME_`` (its bus separator is ``_``).
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["axi_lite_signature", "axi_master_signature", "OKAY", "SLVERR", "DECERR", "ID_WIDTH"]

OKAY, SLVERR, DECERR = 0b00, 0b10, 0b11
#: ID width of S_AXI_HP0.
ID_WIDTH = 6


def axi_lite_signature(addr_width: int) -> wiring.Signature:
    return wiring.Signature({
        "awaddr": Out(addr_width), "awvalid": Out(1), "awready": In(1),
        "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
        "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        "araddr": Out(addr_width), "arvalid": Out(1), "arready": In(1),
        "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
    })


def axi_master_signature() -> wiring.Signature:
    def address(prefix):
        return {
            f"{prefix}id": Out(ID_WIDTH), f"{prefix}addr": Out(32), f"{prefix}len": Out(8), f"{prefix}size": Out(3),
            f"{prefix}burst": Out(2), f"{prefix}cache": Out(4), f"{prefix}prot": Out(3),
            f"{prefix}valid": Out(1), f"{prefix}ready": In(1),
        }
    return wiring.Signature({
        **address("aw"),
        "wdata": Out(64), "wstrb": Out(8), "wlast": Out(1), "wvalid": Out(1), "wready": In(1),
        "bid": In(ID_WIDTH), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        **address("ar"),
        "rid": In(ID_WIDTH), "rdata": In(64), "rresp": In(2), "rlast": In(1), "rvalid": In(1), "rready": Out(1),
    })
