"""A plain multiply-accumulate array: the baseline an SBQ inner product unit replaces.

``lanes`` full int8 x int``wbits`` multipliers, an adder tree and one accumulator compute exact
inner products at one transfer (``lanes`` multiplications) per cycle, with the same ``cmd``/``data``/
``result`` streams as :class:`~hdl.sbq.inner_product_unit.InnerProductUnit`, so it is what a user
would build instead (W4A8 with ``wbits = 4``, W8A8 with ``wbits = 8``). Not a registered design: the
SBQ cost comparison (``bench/sbq/compare.py``) measures it as a sub-block.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer

__all__ = ["MacArray", "LENGTH_BITS", "MAX_LENGTH", "MAX_LANES", "ACT_BITS", "LATENCY", "result_width", "mac_layout"]

ACT_BITS = 8
#: Width of the inner-product length ``L`` on the ``cmd`` stream (as the SBQ IPU).
LENGTH_BITS = 16
MAX_LENGTH = (1 << LENGTH_BITS) - 1
MAX_LANES = 64
#: Cycles from the transfer of an inner product's last ``data`` to its ``result.valid``: products
#: (stage P), their sum (stage S), then the accumulator into the output register.
LATENCY = 3


def result_width(wbits: int) -> int:
    """Signed width of any exact inner product of up to 65535 int8 x int``wbits`` products
    (the largest is ``65535 * (-128) * -2**(wbits-1)``)."""
    return (MAX_LENGTH * (1 << (ACT_BITS - 1)) * (1 << (wbits - 1))).bit_length() + 1


def mac_layout(lanes: int, wbits: int) -> data.StructLayout:
    """One ``data`` transfer: ``lanes`` activations and weights (element ``k`` in slot ``k % lanes``)."""
    return data.StructLayout({
        "a": data.ArrayLayout(signed(ACT_BITS), lanes),
        "w": data.ArrayLayout(signed(wbits), lanes),
    })


class MacArray(wiring.Component):
    """Exact int8 x int``wbits`` inner products of run-time length ``L`` on ``lanes`` multipliers.

    Parameters (keyword-only): ``lanes`` (1..64, default 16), ``wbits`` (4 or 8).

    Ports (``amaranth.lib.stream``, valid/ready), as :class:`~hdl.sbq.inner_product_unit.InnerProductUnit`:

    * ``cmd``: in, ``unsigned(16)``: the length ``L`` (0..65535) of the next inner product.
    * ``data``: in, :func:`mac_layout`: ``ceil(L / lanes)`` transfers; slots ``>= L`` of the last one
      are ignored. ``L = 0`` takes no transfer and gives 0.
    * ``result``: out, ``signed(result_width(wbits))`` (27 bits for int4 weights, 31 for int8): the
      exact integer dot product, one per command, in order.

    Throughput: one ``data`` transfer per cycle (``lanes`` multiplications per cycle), no bubble
    between inner products; one cycle per ``L = 0`` command. Latency: ``result.valid`` rises
    :data:`LATENCY` (3) cycles after the inner product's last transfer (after its command for
    ``L = 0``). Back-pressure: while ``result`` holds a value that is not taken, the whole pipeline
    stops (``cmd.ready`` and ``data.ready`` drop).
    """

    def __init__(self, *, lanes: int = 16, wbits: int = 4):
        integer("lanes", lanes, min=1, max=MAX_LANES)
        integer("wbits", wbits, choices=(4, 8))
        self.lanes, self.wbits = lanes, wbits
        self.width = result_width(wbits)
        super().__init__({
            "cmd": In(stream.Signature(unsigned(LENGTH_BITS))),
            "data": In(stream.Signature(mac_layout(lanes, wbits))),
            "result": Out(stream.Signature(signed(self.width))),
        })

    def elaborate(self, platform):
        m = Module()
        lanes, width = self.lanes, self.width
        product_shape = signed(ACT_BITS + self.wbits)

        advance = Signal()  # the pipeline moves: the output register is free or being read
        m.d.comb += advance.eq(~self.result.valid | self.result.ready)

        # Command: elements left of the current inner product (0: waiting for a command).
        left = Signal(LENGTH_BITS, name="left")
        m.d.comb += [
            self.cmd.ready.eq((left == 0) & advance),
            self.data.ready.eq((left != 0) & advance),
        ]
        take_data = self.data.valid & self.data.ready
        take_cmd = self.cmd.valid & self.cmd.ready
        last_transfer = left <= lanes

        # Stage P: the products of one transfer (slots >= L of the last one zeroed).
        products = [Signal(product_shape, name=f"product{s}") for s in range(lanes)]
        p_valid, p_last = Signal(), Signal()
        with m.If(advance):
            m.d.sync += [p_valid.eq(take_data | (take_cmd & (self.cmd.payload == 0))),
                         p_last.eq((take_data & last_transfer) | take_cmd)]
            for s in range(lanes):
                keep = take_data & (left > s)
                m.d.sync += products[s].eq(Mux(keep, self.data.payload.a[s] * self.data.payload.w[s], 0))
        with m.If(take_cmd):
            m.d.sync += left.eq(self.cmd.payload)
        with m.Elif(take_data):
            m.d.sync += left.eq(Mux(last_transfer, 0, left - lanes))

        # Stage S: their sum (a balanced adder tree).
        level = list(products)
        while len(level) > 1:
            level = [level[i] + level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
        total = Signal(signed(width), name="total")
        s_valid, s_last = Signal(), Signal()
        with m.If(advance):
            m.d.sync += [total.eq(level[0]), s_valid.eq(p_valid), s_last.eq(p_last)]

        # Accumulator and output register.
        acc = Signal(signed(width), name="acc")
        with m.If(self.result.valid & self.result.ready):
            m.d.sync += self.result.valid.eq(0)
        with m.If(advance & s_valid):
            with m.If(s_last):
                m.d.sync += [self.result.payload.eq(acc + total), self.result.valid.eq(1), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(acc + total)
        return m
