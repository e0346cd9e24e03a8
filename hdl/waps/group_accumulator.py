"""The WAPS accumulator: D1 sums a group, the group scaler scales it, D2 sums the scaled groups."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .group_scaler import GroupScaler
from .layouts import sums_layout, totals_layout

__all__ = ["GroupAccumulator"]


class GroupAccumulator(wiring.Component):
    """``T[o] = sum over groups of scale(S_g[o])``, the group partial sums ``S_g`` summed in D1.

    Two registered stages, so that a group change costs no cycle: a beat with ``group_end`` (or
    ``last``) moves ``D1 + sum`` (its group's ``S``) into the register ``S`` with the group's
    ``select``, and D1 starts the next group with the next beat; in the following cycle ``S`` goes
    through the fixed shifter and the 3-to-1 multiplexer (:class:`~hdl.waps.group_scaler.GroupScaler`)
    into D2, and after a job's last group, ``D2 + scale(S)`` is the output ``T``.

    Parameters: ``outputs`` (1..64), ``sum_width`` (of a beat sum), ``acc_bits`` (of D1, ``S``, D2
    and ``T``, >= ``sum_width``; sums that leave it wrap: the offline layout checks it), ``n`` (the
    scale shift, 1..16).

    Ports: ``i``: in, stream of :func:`~hdl.waps.layouts.sums_layout` (grouped); ``o``: out, stream
    of :func:`~hdl.waps.layouts.totals_layout`, one per job.

    Latency 2 cycles from the last beat to ``T``; one beat per cycle, any group sizes. Back-pressure:
    ``i.ready`` while ``S`` is empty or moves on in the same cycle (it waits only for a job's ``T``
    that the consumer has not taken).
    """

    def __init__(self, *, outputs: int = 16, sum_width: int = 12, acc_bits: int = 24, n: int = 4):
        self.outputs = integer("outputs", outputs, min=1, max=64)
        self.sum_width = integer("sum_width", sum_width, min=2, max=64)
        self.acc_bits = integer("acc_bits", acc_bits, min=sum_width, max=64)
        self.n = integer("n", n, min=1, max=16)
        super().__init__({
            "i": In(stream.Signature(sums_layout(outputs, sum_width, grouped=True))),
            "o": Out(stream.Signature(totals_layout(outputs, acc_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        width, beat = self.acc_bits, self.i.payload
        # stage A: D1 and the finished group S
        fresh1 = Signal(init=1)  # the next beat starts a group
        d1 = [Signal(signed(width), name=f"d1_{o}") for o in range(self.outputs)]
        s_valid, s_select, s_last = Signal(), Signal(2), Signal()
        s = [Signal(signed(width), name=f"s_{o}") for o in range(self.outputs)]
        # stage B: D2 and the output T
        fresh2 = Signal(init=1)  # the next S starts a job
        d2 = [Signal(signed(width), name=f"d2_{o}") for o in range(self.outputs)]

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        move = Signal()  # S goes through the scaler into D2 (or T) this cycle
        m.d.comb += move.eq(s_valid & (~s_last | ~self.o.valid | self.o.ready))
        m.d.comb += self.i.ready.eq(~s_valid | move)

        totals = []  # D2 + scale(S), per output
        for o in range(self.outputs):
            scaler = m.submodules[f"scaler_{o}"] = GroupScaler(width=width, n=self.n)
            m.d.comb += [scaler.value.eq(s[o]), scaler.select.eq(s_select)]
            totals.append(Mux(fresh2, 0, d2[o]) + scaler.scaled)
        with m.If(move):
            m.d.sync += s_valid.eq(0)
            with m.If(s_last):
                m.d.sync += [self.o.payload[o].eq(totals[o]) for o in range(self.outputs)]
                m.d.sync += [self.o.valid.eq(1), fresh2.eq(1)]
            with m.Else():
                m.d.sync += [d2[o].eq(totals[o]) for o in range(self.outputs)]
                m.d.sync += fresh2.eq(0)

        with m.If(self.i.valid & self.i.ready):
            running = [Mux(fresh1, 0, d1[o]) + beat.sum[o] for o in range(self.outputs)]
            with m.If(beat.group_end | beat.last):
                m.d.sync += [s[o].eq(running[o]) for o in range(self.outputs)]
                m.d.sync += [s_valid.eq(1), s_select.eq(beat.select), s_last.eq(beat.last), fresh1.eq(1)]
            with m.Else():
                m.d.sync += [d1[o].eq(running[o]) for o in range(self.outputs)]
                m.d.sync += fresh1.eq(0)
        return m
