"""The eDQA system of the PYNQ-Z1: the eDQA core, its DMA and its register file, one job at a time."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from hdl.design import Design
from hdl.edqa.core import EdqaCore
from hdl.edqa.float32 import unpack
from hdl.edqa.quantizer import check_bits
from hdl.params import integer

from . import registers as regs
from .axi import axi_lite_signature, axi_master_signature
from .dma import DmaReader, DmaWriter
from .regfile import RegisterFile

__all__ = ["EdqaSystem", "ADDR_WIDTH", "DESIGN", "max_packet_words"]

ADDR_WIDTH = regs.ADDR_WIDTH


def max_packet_words(max_length: int, m_extra: int) -> int:
    """Words of the longest packet: the codebook and ``B`` words, and ``L`` codes of at most
    ``2^m - 1`` bits."""
    return 2 + -(-max_length * ((1 << m_extra) - 1) // 32)


class EdqaSystem(wiring.Component):
    """The eDQA core behind a register file and a DMA (``docs/pynq_z1.md``).

    Parameters: ``n_bits`` (N), ``m_extra`` (m), ``max_length``: those of
    :class:`~hdl.edqa.core.EdqaCore`.

    Ports:

    * ``s_axil``: in, AXI4-Lite (:func:`~boards.pynq_z1.axi.axi_lite_signature`, ``ADDR_WIDTH`` bits):
      the registers of :mod:`boards.pynq_z1.registers`.
    * ``m_axi``: out, AXI with 64-bit data (:func:`~boards.pynq_z1.axi.axi_master_signature`): DDR.
    * ``irq``: out, ``STATUS.done``. ``busy``, ``error``: out, ``STATUS.busy`` and ``STATUS.error``.

    A job is one channel. ``CONTROL.start`` checks the configuration (length, scale, alignment, packet
    size) and either refuses it (an ``ERRORS`` flag, nothing starts) or runs it:

    * quantize: the DMA reads ``LENGTH`` float32 from ``SRC`` into the core; ``q`` goes to ``DST`` as
      int8, then (important channel) the packet to ``PACKET``; ``PACKET_OUT`` counts its words.
    * de-quantize: (important channel) the DMA first reads the ``PACKET_WORDS`` words of the packet
      into a buffer of ``LIMITS.max_packet_words`` words, which the decoder drains, then the int8 ``q``
      from ``SRC``; the floats go to ``DST``. The whole packet is read first because one read port
      serves both inputs: a decoder waiting for ``q`` would otherwise stop taking packet words that the
      ``q`` behind them wait on.

    ``CYCLES`` holds the cycles from the start to ``done``; an element moves per cycle once the
    stream runs (the DMA keeps up with the core: 2 floats or 8 bytes per beat).
    """

    def __init__(self, *, n_bits: int = 3, m_extra: int = 3, max_length: int = 4096):
        check_bits(n_bits, m_extra)
        integer("max_length", max_length, min=1, max=65535)
        self.n_bits, self.m_extra, self.max_length = n_bits, m_extra, max_length
        self.packet_words = max_packet_words(max_length, m_extra)
        super().__init__({
            "s_axil": In(axi_lite_signature(ADDR_WIDTH)),
            "m_axi": Out(axi_master_signature()),
            "irq": Out(1), "busy": Out(1), "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.regs = rf = RegisterFile()
        m.submodules.core = core = EdqaCore(n_bits=self.n_bits, m_extra=self.m_extra, max_length=self.max_length)
        m.submodules.reader = reader = DmaReader()
        m.submodules.writer = writer = DmaWriter()
        m.submodules.packet = packet = fifo.SyncFIFOBuffered(width=33, depth=self.packet_words)
        wiring.connect(m, wiring.flipped(self.s_axil), rf.s_axil)
        for name in reader.axi.signature.members:
            port, own = getattr(reader.axi, name), getattr(self.m_axi, name)
            m.d.comb += (own.eq(port) if reader.axi.signature.members[name].flow == Out else port.eq(own))
        for name in writer.axi.signature.members:
            port, own = getattr(writer.axi, name), getattr(self.m_axi, name)
            m.d.comb += (own.eq(port) if writer.axi.signature.members[name].flow == Out else port.eq(own))

        # The job's registers.
        job, length, scale = rf.job, rf.length[:16], rf.scale
        dequantize, important = job[0], job[1]
        control = rf.control
        start = rf.control_strobe & control[0]
        clear = rf.control_strobe & control[1]
        ack = rf.control_strobe & control[2]

        busy, done = Signal(), Signal()
        flags = {f.name: Signal(name=f"flag_{f.name}") for f in regs.Errors.fields}
        cycles = Signal(32)
        packet_out = Signal(16)
        m.d.comb += [
            rf.id.eq(regs.MAGIC),
            rf.info.eq(regs.Info.encode(n_bits=self.n_bits, m_extra=self.m_extra, version=regs.VERSION)),
            rf.limits.eq(regs.Limits.encode(max_length=self.max_length, max_packet_words=self.packet_words)),
            rf.busy.eq(busy),
        ]

        # The core's sticky flags are its own (cleared with it); the system's are here.
        core_flags = {"nonfinite": core.status.nonfinite, "bad_codebook": core.status.bad_codebook,
                      "truncated": core.status.truncated, "overlong": core.status.overlong,
                      "corrupt": core.status.corrupt}
        errors = Signal(32)
        m.d.comb += [
            errors.eq(Cat(*(flags[f.name] | core_flags[f.name] if f.name in core_flags else flags[f.name]
                            for f in regs.Errors.fields))),
            rf.errors.eq(errors),
            rf.status.eq(Cat(busy, done, errors.any())),
            rf.cycles.eq(cycles), rf.packet_out.eq(packet_out),
            self.irq.eq(done), self.busy.eq(busy), self.error.eq(errors.any()),
            core.clear.eq(clear),
        ]
        with m.If(clear):
            m.d.sync += [flag.eq(0) for flag in flags.values()]
        with m.If(rf.busy_write):
            m.d.sync += flags["busy_write"].eq(1)
        with m.If(reader.error):
            m.d.sync += flags["read_error"].eq(1)
        with m.If(writer.error):
            m.d.sync += flags["write_error"].eq(1)
        with m.If(ack):
            m.d.sync += done.eq(0)
        with m.If(busy & (cycles != 0xFFFF_FFFF)):
            m.d.sync += cycles.eq(cycles + 1)

        # The checks of a start.
        bad_length = (length == 0) | (length > self.max_length)
        # The core's own test of a scale (hdl.edqa.float32.unpack), here to refuse the start.
        scale_fields = unpack(m, scale, "job_scale")
        bad_scale = scale_fields["sign"] | scale_fields["zero"] | scale_fields["infinite"] | scale_fields["nan"]
        misaligned = (rf.src[:3] != 0) | (rf.dst[:3] != 0) | (important & (rf.packet[:3] != 0))
        words = rf.packet_words[:16]
        bad_packet_words = dequantize & important & ((words < 2) | (words > self.packet_words))
        refused = bad_length | bad_scale | misaligned | bad_packet_words

        # Routes of the DMA streams: 0 none, reader -> q_data / packet buffer / q_in; writer <- q_out /
        # packet_out / d_out.
        route_in, route_out = Signal(2), Signal(2)
        element = reader.out.payload
        q_byte = element.data[:8]
        q_value = q_byte[:self.n_bits]
        with m.Switch(route_in):
            with m.Case(1):
                m.d.comb += [core.q_data.payload.eq(element.data), core.q_data.valid.eq(reader.out.valid),
                             reader.out.ready.eq(core.q_data.ready)]
            with m.Case(2):
                m.d.comb += [packet.w_data.eq(Cat(element.data, element.last)), packet.w_en.eq(reader.out.valid),
                             reader.out.ready.eq(packet.w_rdy)]
            with m.Case(3):
                m.d.comb += [core.q_in.payload.q.eq(q_value), core.q_in.payload.last.eq(element.last),
                             core.q_in.valid.eq(reader.out.valid), reader.out.ready.eq(core.q_in.ready)]
                in_range = q_value.as_signed() == q_byte.as_signed()
                with m.If(reader.out.valid & reader.out.ready & ~in_range):
                    m.d.sync += flags["q_range"].eq(1)
        m.d.comb += [core.packet_in.payload.word.eq(packet.r_data[:32]), core.packet_in.payload.last.eq(packet.r_data[32]),
                     core.packet_in.valid.eq(packet.r_rdy), packet.r_en.eq(core.packet_in.ready)]
        out = writer.data
        with m.Switch(route_out):
            with m.Case(1):
                m.d.comb += [out.payload.data.eq(core.q_out.payload.q.as_signed()), out.payload.last.eq(core.q_out.payload.last),
                             out.valid.eq(core.q_out.valid), core.q_out.ready.eq(out.ready)]
            with m.Case(2):
                m.d.comb += [out.payload.data.eq(core.packet_out.payload.word), out.payload.last.eq(core.packet_out.payload.last),
                             out.valid.eq(core.packet_out.valid), core.packet_out.ready.eq(out.ready)]
                with m.If(out.valid & out.ready):
                    m.d.sync += packet_out.eq(packet_out + 1)
            with m.Case(3):
                m.d.comb += [out.payload.data.eq(core.d_out.payload.value), out.payload.last.eq(core.d_out.payload.last),
                             out.valid.eq(core.d_out.valid), core.d_out.ready.eq(out.ready)]

        # Commands: each held valid from entering a state until taken.
        q_cmd_sent, d_cmd_sent, read_sent, write_sent = Signal(), Signal(), Signal(), Signal()
        m.d.comb += [
            core.q_cmd.payload.length.eq(length), core.q_cmd.payload.important.eq(important), core.q_cmd.payload.inv.eq(scale),
            core.d_cmd.payload.length.eq(length), core.d_cmd.payload.important.eq(important), core.d_cmd.payload.scale.eq(scale),
        ]
        with m.If(core.q_cmd.valid & core.q_cmd.ready):
            m.d.sync += q_cmd_sent.eq(1)
        with m.If(core.d_cmd.valid & core.d_cmd.ready):
            m.d.sync += d_cmd_sent.eq(1)
        with m.If(reader.cmd.valid & reader.cmd.ready):
            m.d.sync += read_sent.eq(1)
        with m.If(writer.cmd.valid & writer.cmd.ready):
            m.d.sync += write_sent.eq(1)

        def read(address, count, as_bytes):
            m.d.comb += [reader.cmd.valid.eq(~read_sent), reader.cmd.payload.address.eq(address),
                         reader.cmd.payload.count.eq(count), reader.cmd.payload.bytes.eq(as_bytes)]

        def write(address, as_bytes):
            m.d.comb += [writer.cmd.valid.eq(~write_sent), writer.cmd.payload.address.eq(address),
                         writer.cmd.payload.bytes.eq(as_bytes)]

        def next_state(state):
            m.d.sync += [q_cmd_sent.eq(0), d_cmd_sent.eq(0), read_sent.eq(0), write_sent.eq(0)]
            m.next = state

        with m.FSM():
            with m.State("IDLE"):
                with m.If(start & ~busy):
                    with m.If(refused):
                        m.d.sync += [flags["bad_length"].eq(flags["bad_length"] | bad_length),
                                     flags["bad_scale"].eq(flags["bad_scale"] | bad_scale),
                                     flags["misaligned"].eq(flags["misaligned"] | misaligned),
                                     flags["bad_packet_words"].eq(flags["bad_packet_words"] | bad_packet_words)]
                    with m.Else():
                        m.d.sync += [busy.eq(1), done.eq(0), cycles.eq(1), packet_out.eq(0)]
                        with m.If(dequantize & important):
                            next_state("D_PACKET")
                        with m.Elif(dequantize):
                            next_state("D_DATA")
                        with m.Else():
                            next_state("Q_DATA")
            with m.State("Q_DATA"):  # floats in, q out
                m.d.comb += core.q_cmd.valid.eq(~q_cmd_sent)
                read(rf.src, length, 0)
                write(rf.dst, 1)
                m.d.comb += [route_in.eq(1), route_out.eq(1)]
                with m.If(q_cmd_sent & read_sent & write_sent & reader.cmd.ready & writer.cmd.ready):
                    with m.If(important):
                        next_state("Q_PACKET")
                    with m.Else():
                        next_state("DONE")
            with m.State("Q_PACKET"):  # the packet out
                write(rf.packet, 0)
                m.d.comb += route_out.eq(2)
                with m.If(write_sent & writer.cmd.ready):
                    next_state("DONE")
            with m.State("D_PACKET"):  # the packet into its buffer
                m.d.comb += core.d_cmd.valid.eq(~d_cmd_sent)
                read(rf.packet, words, 0)
                m.d.comb += route_in.eq(2)
                with m.If(d_cmd_sent & read_sent & reader.cmd.ready):
                    next_state("D_DATA")
                    m.d.sync += d_cmd_sent.eq(1)  # taken here: D_DATA must not send it again
            with m.State("D_DATA"):  # q in, floats out
                m.d.comb += core.d_cmd.valid.eq(~d_cmd_sent)
                read(rf.src, length, 1)
                write(rf.dst, 0)
                m.d.comb += [route_in.eq(3), route_out.eq(3)]
                with m.If(d_cmd_sent & read_sent & write_sent & reader.cmd.ready & writer.cmd.ready):
                    next_state("DONE")
            with m.State("DONE"):
                m.d.sync += [busy.eq(0), done.eq(1)]
                m.next = "IDLE"
        return m


#: The system as a design of its own (not registered with the accelerators: it belongs to the board),
#: for the simulation harness and ``python -m boards.pynq_z1``.
DESIGN = Design(
    name="edqa_pynq_z1_system",
    component=EdqaSystem,
    summary="eDQA core with an AXI4-Lite register file and a 64-bit AXI DMA (the PYNQ-Z1 fabric design)",
    params={"n_bits": "target bits (N), 2..8", "m_extra": "extra bits of an important channel (m), 1..3",
            "max_length": "longest channel (elements), 1..65535"},
    accelerator="edqa",
)
