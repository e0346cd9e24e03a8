"""SBQ compute lane: term encoders, term generator, 2-bit multiplier, term queue, accumulator."""

from amaranth.hdl import Module, Mux, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .term_encoder import TermEncoder
from .term_generator import ACT_BITS, PairLayout, TermGenerator, check_lane_params
from .term_multiplier import PRODUCT_WIDTH, TermMultiplier
from .term_queue import TermQueue

__all__ = ["ComputeLane", "MAX_PRODUCT_SUM", "sum_width", "mult_layout", "lane_latency"]

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


#: Cycles from the end of a multiplication's compute window to its product in the accumulator: the
#: selected pair is registered (stage M), then its product (stage P), then it is added (stage A).
PRODUCT_STAGES = 2


def lane_latency(budget: int) -> int:
    """Cycles from the transfer of an inner product's last multiplication to its ``result.valid``
    when nothing holds: windows E, S1, S2 and C of ``B`` cycles, stages M and P, and the bank write."""
    return 4 * budget + PRODUCT_STAGES + 1


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
    * ``stall``: out, the lane cannot add this cycle's product: it would write a third result while
      both output banks are full. The lane freezes itself on it too. A register: it holds the
      ``stall_next`` of the cycle before.
    * ``stall_next``: out, what ``stall`` will be in the next cycle (from this cycle's ``hold`` and
      ``result.ready``), so that the IPU can register the OR of its lanes' stalls as their ``hold``.

    Pipeline (every register moves only when the lane runs, ``~hold & ~stall``): a multiplication
    accepted at the end of window ``k`` is held raw in window ``k + 1`` (stage E: the term encoders
    and the pair-key table work on it), split in window ``k + 2`` (S1: ranks ``0..B-1``), its
    compensation pairs are selected in window ``k + 3`` (S2: ranks ``B..B+C-1``), and it is computed
    in window ``k + 4`` (stage C, cycle ``t``: pair of rank ``t``, else a queue pop; pushes of ranks
    ``B..B+C-1`` in cycles ``0..C-1``). The selected pair is registered (M), its product is registered
    (P) and added to the accumulator (A); the sum of an inner product is in the output register
    :func:`lane_latency` ``= 4B + 3`` cycles after the transfer of its last multiplication. All queue
    operations of a multiplication lie inside its own stage-C window, so pushes and pops happen in
    exactly the order of the sequential model. The queue is cleared at the end of each inner product.
    Throughput: one multiplication every ``B`` cycles.
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
            "stall_next": Out(1),
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

        # Per window stage (E: raw operands, S1, S2, C): a multiplication is there, and it ends an inner product.
        stages = ["e", "s1", "s2", "c"]
        valid = {name: Signal(name=f"{name}_valid") for name in stages}
        last = {name: Signal(name=f"{name}_last") for name in stages}
        c_valid, c_last = valid["c"], last["c"]
        e_mult = Signal(mult_layout(self.wbits), name="e_mult")

        # Ping-pong output register.
        banks = [Signal(signed(self.width), name=f"bank{i}") for i in range(2)]
        w_bank, r_bank = Signal(), Signal()
        count = Signal(range(3))

        # Stages M, P, A after the compute window: the pair, its product, its sum.
        m_pair, m_valid = Signal(PairLayout, name="m_pair"), Signal(name="m_valid")
        p_product = Signal(signed(PRODUCT_WIDTH), name="p_product")
        m_finishing, a_finishing = Signal(name="m_finishing"), Signal(name="a_finishing")

        finishing = Signal()  # this cycle ends the compute window of an inner product's last multiplication
        m.d.comb += [
            finishing.eq(window_end & c_valid & c_last),
            run.eq(~self.hold & ~self.stall),
        ]

        m.d.comb += [enc_a.x.eq(e_mult.a), enc_w.x.eq(e_mult.w)]
        for enc, port in ((enc_a, gen.a), (enc_w, gen.w)):
            m.d.comb += [port.mag.eq(enc.mag), port.off.eq(enc.off), port.neg.eq(enc.neg), port.valid.eq(enc.valid)]
        m.d.comb += [
            gen.load.eq(valid["e"]),
            gen.cycle.eq(cycle),
            gen.en.eq(run),
            self.mult.ready.eq(run & window_end),
        ]

        with m.If(run):
            m.d.sync += cycle.eq(Mux(window_end, 0, cycle + 1))
            with m.If(window_end):
                m.d.sync += [valid["e"].eq(self.mult.valid), last["e"].eq(self.mult.payload.last),
                             e_mult.eq(self.mult.payload)]
                for earlier, later in zip(stages, stages[1:]):
                    m.d.sync += [valid[later].eq(valid[earlier]), last[later].eq(last[earlier])]

        # Compute: the significant pair of this cycle, else the oldest queued pair.
        active = run & c_valid
        popping = Signal()
        m.d.comb += [
            popping.eq(active & ~gen.sig_valid & queue.r_rdy),
            queue.r_en.eq(popping),
            queue.w_en.eq(active & gen.queued_valid),
            queue.w_data.eq(gen.queued),
            queue.clear.eq(run & finishing),
            mul.pair.eq(m_pair),
            mul.valid.eq(m_valid),
        ]
        acc = Signal(signed(self.width))
        total = Signal(signed(self.width))
        m.d.comb += total.eq(acc + p_product)
        with m.If(run):  # stages M, P and A move with the lane: a held cycle changes nothing
            # Mux expressions rather than comb m.If: Icarus evaluates them from time 0.
            m.d.sync += [
                m_pair.eq(Mux(gen.sig_valid, Value.cast(gen.sig), Value.cast(queue.r_data))),
                m_valid.eq(active & (gen.sig_valid | popping)),
                m_finishing.eq(active & finishing),
                p_product.eq(mul.product),
                a_finishing.eq(m_finishing),
            ]
            with m.If(a_finishing):
                m.d.sync += acc.eq(0)
                with m.If(w_bank):
                    m.d.sync += banks[1].eq(total)
                with m.Else():
                    m.d.sync += banks[0].eq(total)
                m.d.sync += w_bank.eq(~w_bank)
            with m.Else():
                m.d.sync += acc.eq(total)

        written = run & a_finishing
        read = self.result.valid & self.result.ready
        m.d.comb += [
            self.result.valid.eq(count != 0),
            self.result.payload.eq(Mux(r_bank, banks[1], banks[0])),
        ]
        with m.If(read):
            m.d.sync += r_bank.eq(~r_bank)
        count_next = Signal.like(count)
        m.d.comb += count_next.eq(count + written - read)
        m.d.sync += count.eq(count_next)

        # Stall, predicted one cycle ahead: the next cycle adds an inner product's last product (stage A)
        # while both banks will still be full.
        a_finishing_next = Mux(run, m_finishing, a_finishing)
        m.d.comb += self.stall_next.eq(a_finishing_next & (count_next == 2))
        m.d.sync += self.stall.eq(self.stall_next)
        return m
