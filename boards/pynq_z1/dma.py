"""DMA between DDR (an AXI port with 64-bit data) and the eDQA core's streams.

Elements are 32-bit words (float32, packet words) or bytes (int8 ``q``), packed little-endian into
64-bit beats: element ``k`` of a buffer at byte address ``A`` lies at ``A + k * size``. Buffers
start on a multiple of 8 bytes. Bursts are INCR, at most 16 beats (AXI3), and never cross a 4 KiB
boundary.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import OKAY, axi_master_signature

__all__ = ["DmaReader", "DmaWriter", "element_layout", "read_signature", "write_signature", "MAX_BURST"]

MAX_BURST = 16

#: An element on a DMA stream: ``data`` (a byte in bits 7:0 when the job moves bytes) and ``last``.
element_layout = data.StructLayout({"data": 32, "last": 1})


def _subset(prefixes):
    members = axi_master_signature().members
    return wiring.Signature({name: members[name] for name in members if name[:1] in prefixes or name[:2] in prefixes})


def read_signature() -> wiring.Signature:
    """The read half of :func:`~boards.pynq_z1.axi.axi_master_signature` (``ar*``, ``r*``)."""
    return _subset(("ar", "r"))


def write_signature() -> wiring.Signature:
    """The write half (``aw*``, ``w*``, ``b*``)."""
    return _subset(("aw", "w", "b"))


def _burst_beats(m: Module, address, beats_left, name: str):
    """Beats of the next burst: at most 16, at most what is left, and none past the 4 KiB boundary."""
    to_boundary = Signal(range(513), name=f"{name}_to_4k")
    m.d.comb += to_boundary.eq((4096 - address[:12]) >> 3)
    beats = Signal(range(MAX_BURST + 1), name=f"{name}_beats")
    limit = Mux(to_boundary < MAX_BURST, to_boundary, MAX_BURST)
    m.d.comb += beats.eq(Mux(beats_left < limit, beats_left, limit))
    return beats


def _address_defaults(m: Module, bus, prefix: str):
    m.d.comb += [
        getattr(bus, f"{prefix}id").eq(0),
        getattr(bus, f"{prefix}size").eq(0b011),  # 8 bytes per beat
        getattr(bus, f"{prefix}burst").eq(0b01),  # INCR
        getattr(bus, f"{prefix}cache").eq(0b0011),  # normal, bufferable (PYNQ's buffers are not cached by the PL)
        getattr(bus, f"{prefix}prot").eq(0),
    ]


class DmaReader(wiring.Component):
    """Reads ``count`` elements from DDR into a stream.

    Ports:

    * ``cmd``: in, stream of ``{address: 32, count: 17, bytes: 1}``: the buffer (8-aligned), its
      elements (``count`` >= 1) and their size (``bytes``: 1 byte, else 4). Taken when idle.
    * ``out``: out, stream of :data:`element_layout`, ``last`` on the ``count``-th element.
    * ``axi``: out, :func:`read_signature`. Every burst is requested as soon as the previous address
      is taken; ``rready`` follows ``out``'s back-pressure, one element per cycle.
    * ``error``: out, 1 for a cycle when a beat answers with a response other than OKAY (the data is
      used as it came: the job ends, flagged).

    Latency: the first element leaves the cycle after its beat arrives.
    """

    def __init__(self):
        super().__init__({
            "cmd": In(stream.Signature(data.StructLayout({"address": 32, "count": 17, "bytes": 1}))),
            "out": Out(stream.Signature(element_layout)),
            "axi": Out(read_signature()),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bus, cmd, out = self.axi, self.cmd, self.out
        _address_defaults(m, bus, "ar")

        address = Signal(32)
        beats_left = Signal(range((1 << 17) // 2 + 2))  # beats still to request
        elements_left = Signal(17)  # elements still to send on out
        as_bytes = Signal()
        m.d.comb += cmd.ready.eq(elements_left == 0)
        with m.If(cmd.valid & cmd.ready):
            size_bytes = Mux(cmd.payload.bytes, cmd.payload.count, cmd.payload.count << 2)
            m.d.sync += [
                address.eq(cmd.payload.address),
                beats_left.eq((size_bytes + 7) >> 3),
                elements_left.eq(cmd.payload.count),
                as_bytes.eq(cmd.payload.bytes),
            ]

        beats = _burst_beats(m, address, beats_left, "ar")
        m.d.comb += [bus.araddr.eq(address), bus.arlen.eq(beats - 1), bus.arvalid.eq(beats_left != 0)]
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [address.eq(address + (beats << 3)), beats_left.eq(beats_left - beats)]

        # One beat held; its elements leave one per cycle.
        beat, full = Signal(64), Signal()
        lane = Signal(3)
        last_lane = Mux(as_bytes, lane == 7, lane[0])
        element = Mux(as_bytes, beat.word_select(lane, 8), beat.word_select(lane[0], 32))
        m.d.comb += [
            out.valid.eq(full),
            out.payload.data.eq(element),
            out.payload.last.eq(elements_left == 1),
        ]
        frees = out.valid & out.ready & (last_lane | (elements_left == 1))
        m.d.comb += bus.rready.eq(~full | frees)
        with m.If(out.valid & out.ready):
            m.d.sync += [lane.eq(lane + 1), elements_left.eq(elements_left - 1)]
        with m.If(frees):
            m.d.sync += [full.eq(0), lane.eq(0)]
        with m.If(bus.rvalid & bus.rready):
            m.d.sync += [beat.eq(bus.rdata), full.eq(1)]
        m.d.comb += self.error.eq(bus.rvalid & bus.rready & (bus.rresp != OKAY))
        return m


class DmaWriter(wiring.Component):
    """Writes a stream of elements, up to its ``last``, to DDR.

    Ports:

    * ``cmd``: in, stream of ``{address: 32, bytes: 1}``: the buffer (8-aligned) and the element
      size. Taken when idle.
    * ``data``: in, stream of :data:`element_layout`; the element with ``last`` ends the buffer.
    * ``axi``: out, :func:`write_signature`. Elements gather into beats (byte strobes mark a partial
      last beat) in a FIFO of 32 beats; a burst of 16 is sent once 16 beats wait, a shorter one at
      the end. Write responses are counted; more bursts go out before they come back.
    * ``count``: out, elements taken since the command.
    * ``error``: out, 1 for a cycle when a write response is not OKAY.

    The writer is idle again (``cmd.ready``) once the last beat is written and every response is in.
    """

    def __init__(self):
        super().__init__({
            "cmd": In(stream.Signature(data.StructLayout({"address": 32, "bytes": 1}))),
            "data": In(stream.Signature(element_layout)),
            "axi": Out(write_signature()),
            "count": Out(17),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bus, cmd, inp = self.axi, self.cmd, self.data
        _address_defaults(m, bus, "aw")

        active, ended, as_bytes = Signal(), Signal(), Signal()
        address = Signal(32)
        outstanding = Signal(range(64))  # bursts whose response is not in
        m.submodules.beats = beats = fifo.SyncFIFOBuffered(width=72, depth=2 * MAX_BURST)

        # Packing elements into beats.
        word, strobe, lane = Signal(64), Signal(8), Signal(3)
        last_lane = Mux(as_bytes, lane == 7, lane[0])
        merged_word, merged_strobe = Signal(64), Signal(8)
        with m.If(as_bytes):
            m.d.comb += [
                merged_word.eq(word | (inp.payload.data[:8] << (lane << 3))),
                merged_strobe.eq(strobe | (1 << lane)),
            ]
        with m.Else():
            m.d.comb += [
                merged_word.eq(word | (inp.payload.data << (lane[0] << 5))),
                merged_strobe.eq(strobe | (0b1111 << (lane[0] << 2))),
            ]
        m.d.comb += [
            inp.ready.eq(active & ~ended & beats.w_rdy),
            beats.w_data.eq(Cat(merged_word, merged_strobe)),
            beats.w_en.eq(inp.valid & inp.ready & (last_lane | inp.payload.last)),
        ]
        with m.If(inp.valid & inp.ready):
            m.d.sync += [word.eq(merged_word), strobe.eq(merged_strobe), lane.eq(lane + 1), self.count.eq(self.count + 1)]
            with m.If(last_lane | inp.payload.last):
                m.d.sync += [word.eq(0), strobe.eq(0), lane.eq(0)]
            with m.If(inp.payload.last):
                m.d.sync += ended.eq(1)

        # Bursts: an address (its length fixed when it is offered), then its beats from the FIFO.
        sending, w_left = Signal(), Signal(range(MAX_BURST + 1))
        offered, offered_beats = Signal(), Signal(range(MAX_BURST + 1))
        burst = _burst_beats(m, address, beats.level, "aw")
        ready_to_offer = (beats.level >= MAX_BURST) | (ended & (beats.level != 0))
        with m.If(active & ~sending & ~offered & ready_to_offer & (outstanding != 63)):
            m.d.sync += [offered.eq(1), offered_beats.eq(burst)]
        m.d.comb += [bus.awaddr.eq(address), bus.awlen.eq(offered_beats - 1), bus.awvalid.eq(offered)]
        with m.If(bus.awvalid & bus.awready):
            m.d.sync += [offered.eq(0), sending.eq(1), w_left.eq(offered_beats),
                         address.eq(address + (offered_beats << 3))]
        m.d.comb += [
            bus.wvalid.eq(sending & beats.r_rdy),
            bus.wdata.eq(beats.r_data[:64]),
            bus.wstrb.eq(beats.r_data[64:]),
            bus.wlast.eq(w_left == 1),
            beats.r_en.eq(bus.wvalid & bus.wready),
        ]
        with m.If(bus.wvalid & bus.wready):
            m.d.sync += w_left.eq(w_left - 1)
            with m.If(w_left == 1):
                m.d.sync += sending.eq(0)

        m.d.comb += bus.bready.eq(1)
        issued = bus.awvalid & bus.awready
        answered = bus.bvalid
        with m.If(issued & ~answered):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(answered & ~issued):
            m.d.sync += outstanding.eq(outstanding - 1)
        m.d.comb += self.error.eq(bus.bvalid & (bus.bresp != OKAY))

        m.d.comb += cmd.ready.eq(~active)
        with m.If(cmd.valid & cmd.ready):
            m.d.sync += [active.eq(1), ended.eq(0), address.eq(cmd.payload.address), as_bytes.eq(cmd.payload.bytes),
                         self.count.eq(0)]
        with m.If(active & ended & ~offered & ~sending & (beats.level == 0) & (outstanding == 0)):
            m.d.sync += active.eq(0)
        return m
