"""SBQ compute lane: term encoders, term generator, 2-bit multiplier, term queue, accumulator."""

from amaranth.hdl import Module, Mux, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .term_encoder import TermEncoder
from .term_generator import ACT_BITS, TermGenerator, check_lane_params
from .term_multiplier import TermMultiplier
from .term_queue import TermQueue

__all__ = ["ComputeLane", "MAX_PRODUCT_SUM", "sum_width", "mult_layout"]

#: Largest ``|sum|`` of any subset of the term products of one int8 x int``wbits`` multiplication
#: (the most positive or most negative subset; e.g. int8: -65 * -65 = (-128 + 63) * (-128 + 63) with
#: the two positive pairs 16384 + 3969). Brute force over all operand pairs, recomputed from the
#: golden model by ``sim/sbq/test_compute_lane.py::test_product_sum_bound``.
MAX_PRODUCT_SUM = {4: 1213, 8: 20353}


def sum_width(multiplications: int, wbits: int) -> int:
    """Signed width that holds any SBQ sum over ``multiplications`` multiplications."""
    return (multiplications * MAX_PRODUCT_SUM[wbits]).bit_length() + 1


def mult_layout(wbits: int) -> data.StructLayout:
    """One multiplication of a lane: raw operands and the end-of-inner-product flag."""
    return data.StructLayout({"a": signed(ACT_BITS), "w": signed(wbits), "last": 1})


class ComputeLane(wiring.Component):
    """One SBQ compute lane (SBQ paper, section III-B and Fig. 5b): ``B`` cycles per multiplication, sustained.

    Parameters: ``budget`` (``B``), ``comp`` (``C <= B``), ``depth`` (``D``), ``wbits`` (4 or 8),
    ``max_mults`` (longest inner product it must sum exactly; sets the accumulator width).

    Ports:

    * ``mult``: in, ``stream.Signature(mult_layout(wbits))``: raw ``a`` (int8), ``w``, and ``last``
      (this multiplication ends an inner product). ``ready`` is high only in the last cycle of a
      window (once per ``B`` cycles) when the lane runs; a window without a transfer is a bubble that
      changes nothing (no queue pops).
    * ``result``: out, ``stream.Signature(signed(sum_width(max_mults, wbits)))``: one exact SBQ sum
      per inner product, from a 2-bank (ping-pong) output register; popping never waits for ``hold``.
    * ``hold``: in, freeze the lane this cycle (the IPU ties it to the OR of all lanes' ``stall``
      so that lanes stay in lock-step; tie to 0 for a lone lane).
    * ``stall``: out, the lane cannot finish its window this cycle: it would write a third result
      while both output banks are full. The lane freezes itself on it too.

    Pipeline: a multiplication accepted at the end of window ``k`` is split in window ``k + 1`` and
    computed in window ``k + 2`` (cycle ``t``: pair of rank ``t``, else a queue pop; pushes of
    ranks ``B..B+C-1`` in cycles ``0..C-1``); its result is in the output register one cycle after
    that window, i.e. ``2B + 1`` cycles after the transfer of the last multiplication. All queue
    operations of a multiplication lie inside its own window, so pushes and pops happen in exactly
    the order of the sequential model. The queue is cleared at the end of each inner product.
    """

    def __init__(self, *, budget: int = 4, comp: int = 4, depth: int = 4, wbits: int = 4, max_mults: int = 65535):
        check_lane_params(budget, comp, depth, wbits)
        integer("max_mults", max_mults, min=1)
        self.budget, self.comp, self.depth, self.wbits = budget, comp, depth, wbits
        self.width = sum_width(max_mults, wbits)
        super().__init__({
            "mult": In(stream.Signature(mult_layout(wbits))),
            "result": Out(stream.Signature(signed(self.width))),
            "hold": In(1),
            "stall": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        B = self.budget
        m.submodules.enc_a = enc_a = TermEncoder(bits=ACT_BITS)
        m.submodules.enc_w = enc_w = TermEncoder(bits=self.wbits)
        m.submodules.generator = gen = TermGenerator(budget=B, comp=self.comp, wbits=self.wbits)
        m.submodules.multiplier = mul = TermMultiplier()
        m.submodules.queue = queue = TermQueue(depth=self.depth)

        cycle = Signal(range(B))
        window_end = Signal()
        run = Signal()
        m.d.comb += window_end.eq(cycle == B - 1)

        # Stage S (being split) and stage C (being computed): valid and end-of-inner-product flags.
        s_valid, s_last, c_valid, c_last = Signal(), Signal(), Signal(), Signal()

        # Ping-pong output register.
        banks = [Signal(signed(self.width), name=f"bank{i}") for i in range(2)]
        w_bank, r_bank = Signal(), Signal()
        count = Signal(range(3))

        finishing = Signal()  # this cycle ends the window of an inner product's last multiplication
        m.d.comb += [
            finishing.eq(window_end & c_valid & c_last),
            self.stall.eq(finishing & (count == 2)),
            run.eq(~self.hold & ~self.stall),
        ]

        m.d.comb += [enc_a.x.eq(self.mult.payload.a), enc_w.x.eq(self.mult.payload.w)]
        for enc, port in ((enc_a, gen.a), (enc_w, gen.w)):
            m.d.comb += [port.mag.eq(enc.mag), port.off.eq(enc.off), port.neg.eq(enc.neg), port.valid.eq(enc.valid)]
        m.d.comb += [
            gen.load.eq(self.mult.valid),
            gen.cycle.eq(cycle),
            gen.en.eq(run),
            self.mult.ready.eq(run & window_end),
        ]

        with m.If(run):
            m.d.sync += cycle.eq(Mux(window_end, 0, cycle + 1))
            with m.If(window_end):
                m.d.sync += [
                    s_valid.eq(self.mult.valid),
                    s_last.eq(self.mult.payload.last),
                    c_valid.eq(s_valid),
                    c_last.eq(s_last),
                ]

        # Compute: the significant pair of this cycle, else the oldest queued pair.
        active = run & c_valid
        popping = Signal()
        m.d.comb += [
            popping.eq(active & ~gen.sig_valid & queue.r_rdy),
            queue.r_en.eq(popping),
            queue.w_en.eq(active & gen.queued_valid),
            queue.w_data.eq(gen.queued),
            queue.clear.eq(run & finishing),
            mul.valid.eq(active & (gen.sig_valid | popping)),
        ]
        # Mux expressions rather than comb m.If: Icarus evaluates them from time 0.
        m.d.comb += mul.pair.eq(Mux(gen.sig_valid, Value.cast(gen.sig), Value.cast(queue.r_data)))

        acc = Signal(signed(self.width))
        total = Signal(signed(self.width))
        m.d.comb += total.eq(acc + mul.product)
        with m.If(active):
            with m.If(finishing):
                m.d.sync += acc.eq(0)
                with m.If(w_bank):
                    m.d.sync += banks[1].eq(total)
                with m.Else():
                    m.d.sync += banks[0].eq(total)
                m.d.sync += w_bank.eq(~w_bank)
            with m.Else():
                m.d.sync += acc.eq(total)

        written = active & finishing
        read = self.result.valid & self.result.ready
        m.d.comb += [
            self.result.valid.eq(count != 0),
            self.result.payload.eq(Mux(r_bank, banks[1], banks[0])),
        ]
        with m.If(read):
            m.d.sync += r_bank.eq(~r_bank)
        with m.If(written & ~read):
            m.d.sync += count.eq(count + 1)
        with m.Elif(read & ~written):
            m.d.sync += count.eq(count - 1)
        return m
