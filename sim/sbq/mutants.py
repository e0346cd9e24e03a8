"""Planted bugs in the SBQ RTL (``python -m sim.mutants sbq``): each must make a default test fail."""

from sim.mutant import Mutant

_LIFO = '''from amaranth.hdl import Array

        stack = Array(Signal(PairLayout.size, name=f"entry{i}") for i in range(self.depth))
        count = Signal(range(self.depth + 1))
        m.d.comb += [
            self.w_rdy.eq(count != self.depth),
            self.r_rdy.eq(count != 0),
            self.r_data.eq(stack[count - 1]),
            self.level.eq(count),
        ]
        with m.If(self.clear):
            m.d.sync += count.eq(0)
        with m.Elif(self.r_en & (count != 0)):
            m.d.sync += count.eq(count - 1)
        with m.Elif(self.w_en & (count != self.depth)):
            m.d.sync += [stack[count].eq(Value.cast(self.w_data)), count.eq(count + 1)]'''

MUTANTS = [
    Mutant("selector_tie_rule", "hdl/sbq/term_generator.py",
           "wins_over = [(heads[i] > heads[j]) if j < i else (heads[i] >= heads[j]) for j in range(rows) if j != i]",
           "wins_over = [(heads[i] >= heads[j]) if j < i else (heads[i] > heads[j]) for j in range(rows) if j != i]",
           "term generator: equal product offsets go to the larger activation index (wrong tie rule)"),
    Mutant("queue_selector_tie_rule", "hdl/sbq/term_generator.py",
           "wins_over = [(heads[i] > heads[j]) if j < i else (heads[i] >= heads[j]) for j in range(rows) if j != i]",
           "wins_over = [(heads[i] > heads[j]) if (j < i) != (name == \"queue\") else (heads[i] >= heads[j]) "
           "for j in range(rows) if j != i]",
           "term generator: wrong tie rule in the queue selector only (ties inside the queued group)"),
    Mutant("queue_offers_one_more", "hdl/sbq/term_generator.py",
           "m.d.comb += pushing.eq(self.cycle < self.comp if self.comp else 0)",
           "m.d.comb += pushing.eq(self.cycle <= self.comp if self.comp else 0)",
           "term generator: C + 1 pairs offered to the queue when C < B (off-by-one counter)"),
    Mutant("queue_push_dropped", "hdl/sbq/compute_lane.py",
           "queue.w_en.eq(active & gen.queued_valid)",
           "queue.w_en.eq(active & gen.queued_valid & (cycle != 0))",
           "lane: the pair offered in a window's first cycle is never queued (dropped queue entry)"),
    Mutant("queue_lifo", "hdl/sbq/term_queue.py",
           '''queue = fifo.SyncFIFO(width=PairLayout.size, depth=self.depth)
        m.submodules.fifo = ResetInserter(self.clear)(queue)
        m.d.comb += [
            queue.w_data.eq(Value.cast(self.w_data)),
            queue.w_en.eq(self.w_en),
            self.w_rdy.eq(queue.w_rdy),
            self.r_data.eq(queue.r_data),
            self.r_rdy.eq(queue.r_rdy),
            queue.r_en.eq(self.r_en),
            self.level.eq(queue.level),
        ]''',
           _LIFO,
           "term queue: last-in first-out (a stack) instead of first-in first-out"),
    Mutant("queue_clear_ignores_hold", "hdl/sbq/compute_lane.py",
           "queue.clear.eq(run & finishing)",
           "queue.clear.eq(finishing)",
           "lane: the queue is cleared in the last cycle of an inner product even while the lane is held"),
    Mutant("bubble_pops_queue", "hdl/sbq/compute_lane.py",
           "active = run & c_valid",
           "active = run",
           "lane: a window without a multiplication (input bubble) pops queued pairs into the sum"),
    Mutant("accumulator_narrow", "hdl/sbq/compute_lane.py",
           "acc = Signal(signed(self.width))",
           "acc = Signal(signed(self.width - 1))",
           "lane: accumulator one bit narrower than the longest inner product needs"),
    Mutant("product_path_narrow", "hdl/sbq/term_multiplier.py",
           "shifted = Signal(PRODUCT_WIDTH - 1)",
           "shifted = Signal(PRODUCT_WIDTH - 2)",
           "term multiplier: shifted magnitude one bit narrow (the term pair -128 x -128, 16384, wraps to 0)"),
    Mutant("product_sign_or", "hdl/sbq/term_multiplier.py",
           "negative = self.pair.neg_a ^ self.pair.neg_w",
           "negative = self.pair.neg_a | self.pair.neg_w",
           "term multiplier: a negative times a negative term is negative (wrong sign handling)"),
    Mutant("aggregation_unsigned", "hdl/sbq/inner_product_unit.py",
           "psum[i].eq(psum[i - 1] + lanes[i].result.payload)",
           "psum[i].eq(psum[i - 1] + lanes[i].result.payload.as_unsigned())",
           "IPU: a lane's negative sum is not sign-extended in the aggregation chain"),
    Mutant("bank_overwrite", "hdl/sbq/compute_lane.py",
           "self.stall_next.eq(a_finishing_next & (count_next == 2))",
           "self.stall_next.eq(0)",
           "lane: no stall when both banks are full: a third result overwrites an unread bank"),
    Mutant("lane_extra_stage", "hdl/sbq/compute_lane.py",
           "written = run & a_finishing",
           "written = Signal()\n        m.d.sync += written.eq(run & a_finishing)",
           "lane: one extra pipeline stage before result.valid (one cycle more latency, results still exact)"),
    Mutant("pipeline_ignores_hold", "hdl/sbq/compute_lane.py",
           "with m.If(run):  # stages M, P and A move with the lane: a held cycle changes nothing",
           "with m.If(~self.hold):  # stages M, P and A move with the lane: a held cycle changes nothing",
           "lane: the pair, product and accumulator stages keep moving while the lane is stalled (only hold stops them)"),
    Mutant("stall_prediction_ignores_run", "hdl/sbq/compute_lane.py",
           "a_finishing_next = Mux(run, m_finishing, a_finishing)",
           "a_finishing_next = m_finishing",
           "lane: the predicted stall assumes the pipeline moves, so a stall lasts one cycle and a bank is overwritten"),
    Mutant("ipu_last_late", "hdl/sbq/inner_product_unit.py",
           "final.eq(left <= n)",
           "final.eq(left < n)",
           "IPU: a transfer that ends the inner product exactly is not marked last (off-by-one counter)"),
    Mutant("length_counter_narrow", "hdl/sbq/inner_product_unit.py",
           "left = Signal(LENGTH_BITS)",
           "left = Signal(LENGTH_BITS - 1)",
           "IPU: length counter one bit narrow (L >= 32768 loses its top bit)"),
]
