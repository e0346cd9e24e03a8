"""A Stripes-style bit-serial array: the cost baseline beside the HAP array (not a registered design).

Stripes ("Stripes: Bit-serial deep neural network computing", P. Judd et al., MICRO 2016) computes
inner products with serial inner-product units (SIPs): each cycle, every lane of a SIP ANDs one bit
of its activation with a parallel weight, an adder tree sums the lanes of the brick (16 lanes in
the paper), and the sum is shifted into the SIP's output accumulator; an activation of precision
``p`` takes ``p`` cycles. Stripes has one precision per layer and one weight width (no dual
precision). Here the array is built only to be synthesized beside ``hap_array`` at equal compute
(``python -m bench.hap.iso_cost``); it is verified in Amaranth's simulator
(``sim/hap/test_stripes_array.py``).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer

__all__ = ["StripesArray", "signed_width", "step_layout", "result_layout"]


def signed_width(low: int, high: int) -> int:
    """The fewest bits of a two's complement value that holds every integer in ``low..high``."""
    width = 1
    while not (-(1 << (width - 1)) <= low and high < (1 << (width - 1))):
        width += 1
    return width


def step_layout(*, filters: int, windows: int, lanes: int, weight_bits: int) -> data.StructLayout:
    """One bit-serial step: the brick's weights, one bit of every activation, and two flags."""
    return data.StructLayout({
        "weights": data.ArrayLayout(data.ArrayLayout(signed(weight_bits), lanes), filters),
        "bits": data.ArrayLayout(data.ArrayLayout(1, lanes), windows),
        "lsb": 1,
        "last": 1,
    })


def result_layout(*, filters: int, windows: int, width: int) -> data.ArrayLayout:
    """The inner products of every (filter, window) pair: ``result[f][w]``."""
    return data.ArrayLayout(data.ArrayLayout(signed(width), windows), filters)


def _tree(values: list):
    """A balanced adder tree (``ceil(log2(len))`` adders deep); Amaranth widens each sum by a bit."""
    while len(values) > 1:
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]


class StripesArray(wiring.Component):
    """``filters`` x ``windows`` serial inner-product units of ``lanes`` lanes each (Stripes, section 4).

    Parameters: ``filters`` (output channels, SIPs that share the activation bits), ``windows``
    (activation vectors, SIPs that share the weights), ``lanes`` (the brick: activations summed by
    one adder tree per cycle), ``weight_bits`` (signed weights), ``max_precision`` (activation
    bits, unsigned) and ``max_length`` (the longest inner product, in activations; sets the
    accumulator width). Every cycle the array computes ``filters * windows * lanes`` products of an
    activation bit and a ``weight_bits`` weight.

    Ports (``amaranth.lib.stream`` valid/ready):

    * ``step``: in, :func:`step_layout`: one bit-serial step. A brick (``lanes`` activations per
      window times ``lanes`` weights per filter) of precision ``p`` (1..``max_precision``) is
      ``p`` steps, most significant bit first: ``bits[w][l]`` is bit ``p - 1 - t`` of window
      ``w``'s activation in lane ``l`` in step ``t``; ``lsb`` marks the brick's last step (bit 0).
      ``weights[f][l]`` is read in the brick's first step (after reset or after a step with
      ``lsb``) into the weight registers and ignored in the others. ``last`` (with ``lsb``) ends
      the inner products: the next brick starts new ones. Precision may change from brick to brick.
    * ``result``: out, :func:`result_layout`, ``signed(width)``: ``result[f][w]`` = sum over the
      inner product's bricks and lanes of ``weight[f][l] * activation[w][l]``, exact; one transfer
      per inner product.

    Pipeline: step registers (bits; weights at a brick's first step), then the lane products
    (``bit ? weight : 0``) and a balanced adder tree per SIP into a register, then the SIP's
    partial brick sum ``2 * partial + tree`` (Horner, MSB first) and, at ``lsb``, the accumulator
    ``acc + brick``; at ``last`` the total goes into the output register and ``acc`` restarts.

    Latency: ``result.valid`` rises 3 cycles after the transfer of an inner product's last step.
    Throughput: one step per cycle (``step.ready`` high) while ``result`` is taken; an inner
    product of ``K`` activations at precision ``p`` takes ``ceil(K / lanes) * p`` cycles.
    Back-pressure: the pipeline stops only when a finished inner product meets a full output
    register (``step.ready`` then follows ``result.ready`` combinationally); nothing is lost.
    """

    def __init__(self, *, filters: int = 4, windows: int = 1, lanes: int = 16, weight_bits: int = 8,
                 max_precision: int = 8, max_length: int = 4096):
        integer("filters", filters, min=1, max=256)
        integer("windows", windows, min=1, max=256)
        integer("lanes", lanes, min=1, max=256)
        integer("weight_bits", weight_bits, min=2, max=16)
        integer("max_precision", max_precision, min=1, max=16)
        integer("max_length", max_length, min=1)
        self.filters, self.windows, self.lanes = filters, windows, lanes
        self.weight_bits, self.max_precision, self.max_length = weight_bits, max_precision, max_length
        w_low, w_high = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
        a_high = (1 << max_precision) - 1
        # The partial register holds a brick's sum over its first bits (all but bit 0): at most
        # ``p - 1`` of them, so ``2^(P-1) - 1`` times the tree; the whole brick goes straight into ``acc``.
        p_high = (1 << (max_precision - 1)) - 1
        #: Widths of the partial brick sum and of the accumulator (and result).
        self.partial_width = signed_width(lanes * w_low * p_high, lanes * w_high * p_high)
        self.width = signed_width(max_length * w_low * a_high, max_length * w_high * a_high)
        shape = {"filters": filters, "windows": windows}
        super().__init__({
            "step": In(stream.Signature(step_layout(**shape, lanes=lanes, weight_bits=weight_bits))),
            "result": Out(stream.Signature(result_layout(**shape, width=self.width))),
        })

    @property
    def bit_products(self) -> int:
        """Products of one activation bit and one weight bit per cycle (the equal-compute measure)."""
        return self.filters * self.windows * self.lanes * self.weight_bits

    def elaborate(self, platform):
        m = Module()
        F, W, L = self.filters, self.windows, self.lanes
        step, result = self.step, self.result

        # Stage A: the step's bits and the brick's weights.
        a_valid, a_lsb, a_last = Signal(), Signal(), Signal()
        a_bits = Signal(data.ArrayLayout(data.ArrayLayout(1, L), W))
        a_weights = Signal(data.ArrayLayout(data.ArrayLayout(signed(self.weight_bits), L), F))
        brick_start = Signal(init=1)  # the next step is the first of a brick

        # Stage B: one adder-tree sum per SIP.
        b_valid, b_lsb, b_last = Signal(), Signal(), Signal()
        b_tree = [[Signal(signed(self.weight_bits + (L - 1).bit_length()), name=f"tree_{f}_{w}")
                   for w in range(W)] for f in range(F)]

        # Stage C: partial brick sum, accumulator and output register per SIP.
        partial = [[Signal(signed(self.partial_width), name=f"partial_{f}_{w}") for w in range(W)] for f in range(F)]
        acc = [[Signal(signed(self.width), name=f"acc_{f}_{w}") for w in range(W)] for f in range(F)]
        out = Signal(result_layout(filters=F, windows=W, width=self.width))
        out_valid = Signal()

        finishing = b_valid & b_lsb & b_last
        run = Signal()
        m.d.comb += [
            run.eq(~(finishing & out_valid & ~result.ready)),
            step.ready.eq(run),
            result.valid.eq(out_valid),
            result.payload.eq(out),
        ]

        with m.If(run):
            m.d.sync += [a_valid.eq(step.valid), b_valid.eq(a_valid), b_lsb.eq(a_lsb), b_last.eq(a_last)]
            with m.If(step.valid):
                m.d.sync += [a_bits.eq(step.payload.bits), a_lsb.eq(step.payload.lsb), a_last.eq(step.payload.last),
                             brick_start.eq(step.payload.lsb)]
                with m.If(brick_start):
                    m.d.sync += a_weights.eq(step.payload.weights)
            for f in range(F):
                for w in range(W):
                    products = [Mux(a_bits[w][l], a_weights[f][l], 0) for l in range(L)]
                    m.d.sync += b_tree[f][w].eq(_tree(products))

            with m.If(b_valid):
                for f in range(F):
                    for w in range(W):
                        brick = (partial[f][w] << 1) + b_tree[f][w]
                        total = acc[f][w] + brick
                        with m.If(b_lsb):
                            m.d.sync += partial[f][w].eq(0)
                            with m.If(b_last):
                                m.d.sync += [out[f][w].eq(total), acc[f][w].eq(0)]
                            with m.Else():
                                m.d.sync += acc[f][w].eq(total)
                        with m.Else():
                            m.d.sync += partial[f][w].eq(brick)

        with m.If(run & finishing):
            m.d.sync += out_valid.eq(1)
        with m.Elif(result.ready):
            m.d.sync += out_valid.eq(0)
        return m
