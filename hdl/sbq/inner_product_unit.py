"""SBQ inner product unit: ``lanes`` compute lanes and a systolic aggregation chain (SBQ paper, section III-B)."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .compute_lane import ComputeLane, sum_width
from .term_generator import ACT_BITS, check_lane_params

__all__ = ["InnerProductUnit", "LENGTH_BITS", "MAX_LENGTH", "MAX_LANES", "data_layout"]

#: Width of the inner-product length ``L`` on the ``cmd`` stream.
LENGTH_BITS = 16
MAX_LENGTH = (1 << LENGTH_BITS) - 1
#: Most compute lanes.
MAX_LANES = 64


def data_layout(lanes: int, wbits: int) -> data.StructLayout:
    """One transfer: ``lanes`` activations and ``lanes`` weights (element ``k`` in slot ``k % lanes``)."""
    return data.StructLayout({
        "a": data.ArrayLayout(signed(ACT_BITS), lanes),
        "w": data.ArrayLayout(signed(wbits), lanes),
    })


class InnerProductUnit(wiring.Component):
    """SBQ inner products of run-time length ``L`` over ``lanes`` compute lanes (Fig. 5a).

    Parameters: ``lanes``, ``budget`` (``B``), ``comp`` (``C <= B``), ``depth`` (``D``), ``wbits``.

    Ports (all ``amaranth.lib.stream`` with valid/ready):

    * ``cmd``: in, ``unsigned(16)``: the length ``L`` (0..65535) of the next inner product.
    * ``data``: in, :func:`data_layout`: ``ceil(L / lanes)`` transfers per inner product; element
      ``k`` is in transfer ``k // lanes``, slot ``k % lanes``. Slots ``>= L`` of the last transfer are
      ignored (the unit zeroes them). ``L = 0`` takes no transfer and gives the result 0.
    * ``result``: out, ``signed(sum_width(65535, wbits))`` (28 bits for int4 weights, 32 for int8):
      the exact SBQ sum, one per command, in command order.

    Throughput: one transfer per ``B`` cycles (every lane one multiplication per ``B`` cycles)
    with no bubble between inner products, as long as ``result`` is ready and every inner product
    spans ``N`` transfers with ``2 * B * N > lanes`` (otherwise the lanes pause until the
    aggregation has read the ping-pong bank they would overwrite). Latency from the last transfer
    of an inner product to its result: ``4B + 3 + lanes`` cycles (:func:`lane_latency` ``+ lanes``).

    Aggregation: each lane writes its sum into one bank of its ping-pong output register; a wave
    then runs down the chain, stage ``i`` adding lane ``i``'s bank one cycle after stage ``i - 1``,
    while the lanes already compute the next inner product. ``result`` back-pressure stops the chain,
    and a full bank stops every lane together (lock-step).
    """

    def __init__(self, *, lanes: int = 16, budget: int = 4, comp: int = 4, depth: int = 4, wbits: int = 4):
        integer("lanes", lanes, min=1, max=MAX_LANES)
        check_lane_params(budget, comp, depth, wbits)
        self.lanes, self.budget, self.comp, self.depth, self.wbits = lanes, budget, comp, depth, wbits
        self.width = sum_width(MAX_LENGTH, wbits)
        super().__init__({
            "cmd": In(stream.Signature(unsigned(LENGTH_BITS))),
            "data": In(stream.Signature(data_layout(lanes, wbits))),
            "result": Out(stream.Signature(signed(self.width))),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.lanes
        per_lane = -(-MAX_LENGTH // n)
        lanes = [ComputeLane(budget=self.budget, comp=self.comp, depth=self.depth, wbits=self.wbits, max_mults=per_lane)
                 for _ in range(n)]
        for i, lane in enumerate(lanes):
            m.submodules[f"lane{i}"] = lane

        # Lock-step: any lane that must stall stops all of them. Registered: the OR of the lanes'
        # stall_next is, one cycle later, the OR of their stall (each lane's stall is its stall_next
        # registered), so the hold that drives every lane's clock enable starts at one flip-flop.
        any_stall = Signal()
        m.d.sync += any_stall.eq(Cat(lane.stall_next for lane in lanes).any())
        m.d.comb += [lane.hold.eq(any_stall) for lane in lanes]

        # Command: remaining elements of the current inner product.
        have_cmd = Signal()
        left = Signal(LENGTH_BITS)
        # The lanes run in lock-step (same windows, same hold), so lane 0's ready is every lane's.
        lanes_ready = lanes[0].mult.ready
        go = Signal()
        accept = Signal()
        final = Signal()  # this transfer ends the inner product
        m.d.comb += [
            go.eq(have_cmd & (self.data.valid | (left == 0))),
            accept.eq(go & lanes_ready),
            final.eq(left <= n),
            self.data.ready.eq(have_cmd & (left != 0) & lanes_ready),
            self.cmd.ready.eq(~have_cmd | (accept & final)),
        ]
        for s, lane in enumerate(lanes):
            inside = left > s
            m.d.comb += [lane.mult.valid.eq(go), lane.mult.payload.last.eq(final)]
            m.d.comb += [
                lane.mult.payload.a.eq(Mux(inside, self.data.payload.a[s], 0)),
                lane.mult.payload.w.eq(Mux(inside, self.data.payload.w[s], 0)),
            ]
        with m.If(accept):
            with m.If(final):
                m.d.sync += have_cmd.eq(0)
            with m.Else():
                m.d.sync += left.eq(left - n)
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [have_cmd.eq(1), left.eq(self.cmd.payload)]

        # Systolic aggregation chain; the whole chain moves unless its output is stuck.
        move = Signal()
        wave = [Signal(name=f"wave{i}") for i in range(n)]
        psum = [Signal(signed(self.width), name=f"psum{i}") for i in range(n)]
        m.d.comb += move.eq(~wave[-1] | self.result.ready)
        m.d.comb += lanes[0].result.ready.eq(move)
        with m.If(move):
            m.d.sync += [wave[0].eq(lanes[0].result.valid), psum[0].eq(lanes[0].result.payload)]
        for i in range(1, n):
            m.d.comb += lanes[i].result.ready.eq(move & wave[i - 1])
            with m.If(move):
                m.d.sync += [wave[i].eq(wave[i - 1]), psum[i].eq(psum[i - 1] + lanes[i].result.payload)]
        m.d.comb += [self.result.valid.eq(wave[-1]), self.result.payload.eq(psum[-1])]
        return m
