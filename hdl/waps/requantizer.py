"""The requantization stage: a job's totals to output codes with a fixed-point multiplier."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .layouts import cmd_layout, out_layout, totals_layout

__all__ = ["Requantizer"]


class Requantizer(wiring.Component):
    """``y[o] = clamp((T[o] * multiplier[o] + bias[o]) >> shift, lo, hi)``, ``>>`` arithmetic (floor);
    ``lo, hi = 0, 2^out_bits - 1`` with ``relu``, else ``-2^(out_bits-1), 2^(out_bits-1) - 1``.

    Parameters: ``outputs`` (1..64), ``acc_bits`` (of ``T``, 2..48), ``mult_bits`` (of the
    multiplier, 2..32), ``out_bits`` (1..16).

    Ports: ``total``: in, stream of :func:`~hdl.waps.layouts.totals_layout`; ``cmd``: in, stream of
    :func:`~hdl.waps.layouts.cmd_layout`, one per job, taken together with its ``total``; ``out``:
    out, stream of :func:`~hdl.waps.layouts.out_layout`.

    Two stages (the products; then bias, shift and clamp): latency 2 cycles, one job per cycle.
    Back-pressure: ``total`` and ``cmd`` are taken together, when both are valid and the first stage
    is empty or moves on.
    """

    LATENCY = 2

    def __init__(self, *, outputs: int = 16, acc_bits: int = 24, mult_bits: int = 16, out_bits: int = 4):
        self.outputs = integer("outputs", outputs, min=1, max=64)
        self.acc_bits = integer("acc_bits", acc_bits, min=2, max=48)
        self.mult_bits = integer("mult_bits", mult_bits, min=2, max=32)
        self.out_bits = integer("out_bits", out_bits, min=1, max=16)
        super().__init__({
            "total": In(stream.Signature(totals_layout(outputs, acc_bits))),
            "cmd": In(stream.Signature(cmd_layout(outputs, acc_bits, mult_bits))),
            "out": Out(stream.Signature(out_layout(outputs, out_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        wide = self.acc_bits + self.mult_bits
        cmd = self.cmd.payload
        # stage 1: the products, with the job's bias, shift and relu
        p_valid = Signal()
        product = [Signal(signed(wide), name=f"product_{o}") for o in range(self.outputs)]
        bias = [Signal(signed(wide), name=f"bias_{o}") for o in range(self.outputs)]
        shift, relu = Signal.like(cmd.shift), Signal()

        with m.If(self.out.ready):
            m.d.sync += self.out.valid.eq(0)
        advance = Signal()  # stage 1 moves into the output register this cycle
        m.d.comb += advance.eq(~self.out.valid | self.out.ready)
        take = Signal()
        m.d.comb += take.eq(~p_valid | advance)
        m.d.comb += [self.total.ready.eq(take & self.cmd.valid), self.cmd.ready.eq(take & self.total.valid)]

        # stage 2: bias, floor shift, clamp
        lo = Mux(relu, 0, -(2 ** (self.out_bits - 1)))
        hi = Mux(relu, 2**self.out_bits - 1, 2 ** (self.out_bits - 1) - 1)
        codes = []
        for o in range(self.outputs):
            value = Signal(signed(wide + 1), name=f"shifted_{o}")
            m.d.comb += value.eq((product[o] + bias[o]) >> shift)
            codes.append(Mux(value < lo, lo, Mux(value > hi, hi, value)))
        with m.If(p_valid & advance):
            m.d.sync += [p_valid.eq(0), self.out.valid.eq(1)]
            m.d.sync += [self.out.payload[o].eq(codes[o]) for o in range(self.outputs)]

        with m.If(self.total.valid & self.cmd.valid & take):
            m.d.sync += [p_valid.eq(1), shift.eq(cmd.shift), relu.eq(cmd.relu)]
            for o in range(self.outputs):
                m.d.sync += [product[o].eq(self.total.payload[o] * cmd.multiplier[o]), bias[o].eq(cmd.bias[o])]
        return m
