"""cocotb testbench: the SBQ inner product unit (``sbq_ipu``) bit-exact against ``golden.sbq.dot``.

Every inner product is sent as a ``cmd`` (its length ``L``) and ``ceil(L / lanes)`` ``data``
transfers; the slots ``>= L`` of the last transfer carry random garbage, which the unit must ignore.
"""

import os
import random

import cocotb
from amaranth.hdl import signed

from hdl.sbq.compute_lane import lane_latency, sum_width
from hdl.sbq.inner_product_unit import MAX_LENGTH, data_layout
from sim.harness import bench_params, record_figures
from sim.sbq.cases import (HAND_WRITTEN_FIFO, expected, fewer_than, heaviest, lane_corner_cases, random_vector,
                           weight_range)
from sim.streams import Scoreboard, Testbench, random_pauses


def latency_cycles(budget: int, lanes: int) -> int:
    """Cycles from the last ``data`` transfer of an inner product to its ``result`` transfer, when
    nothing stalls: ``4B + 3`` through a lane (:func:`lane_latency`), then one cycle per stage of the
    aggregation chain."""
    assert lane_latency(budget) == 4 * budget + 3
    return 4 * budget + 3 + lanes


class IPUBench:
    """The unit's streams: ``cmd`` and ``data`` sources (a monitor on ``data`` for transfer cycles),
    the ``result`` sink and its scoreboard. ``gap`` (per input stream) and ``drop`` (result) are
    per-cycle pause probabilities."""

    def __init__(self, dut, seed, gap=0.0, drop=0.0):
        self.dut, self.seed, self.gap, self.drop = dut, seed, gap, drop
        self.params = bench_params()
        self.lanes, self.wbits = self.params["lanes"], self.params["wbits"]
        self.layout = data_layout(self.lanes, self.wbits)
        self.rng = random.Random(seed)

    async def start(self):
        self.tb = tb = Testbench(self.dut)
        await tb.start()
        self.cmd = tb.source("cmd", random_pauses(self.gap, self.seed))
        self.data = tb.source("data", random_pauses(self.gap, self.seed + 1))
        self.transfers = tb.monitor("data", self.layout)
        self.result = tb.sink("result", signed(sum_width(MAX_LENGTH, self.wbits)), random_pauses(self.drop, self.seed + 2))
        self.scoreboard = Scoreboard(self.result)
        await tb.reset()
        return self

    def send(self, name, a, w, want=None) -> int:
        """One inner product (garbage in the unused slots of its last transfer) and its golden sum
        (``want``: a hand-written sum, which must also be the golden model's). Returns the sum."""
        n, length = self.lanes, len(a)
        self.cmd.send_nowait(length)
        for t in range(-(-length // n)):
            xs, ys = [], []
            for k in range(t * n, t * n + n):
                inside = k < length
                xs.append(a[k] if inside else self.rng.randrange(-128, 128))
                ys.append(w[k] if inside else self.rng.choice(weight_range(self.wbits)))
            self.data.send_nowait(self.layout.const({"a": xs, "w": ys}))
        p = self.params
        golden = expected(a, w, p["budget"], p["comp"], p["depth"], lanes=n)
        assert want is None or want == golden, f"{name}: hand-written sum {want}, golden model {golden}"
        self.scoreboard.expect(golden, label=f"{name} (L={length})")
        return golden

    async def check(self, products, max_cycles=500000):
        """Send ``[(name, a, w)]`` and wait until every result has arrived and matched."""
        for name, a, w in products:
            self.send(name, a, w)
        await self.scoreboard.wait(max_cycles)

    def transfer_cycles(self) -> list[int]:
        """The cycles of the ``data`` transfers since the last call."""
        return [self.transfers.recv_nowait().cycle for _ in range(self.transfers.count())]


def _spread(seq_a, seq_w, lanes, cut=0):
    """Every lane gets the same sequence: element ``k`` is step ``k // lanes``; ``cut`` drops the
    last elements so that the last transfer is partial."""
    a = [x for x in seq_a for _ in range(lanes)]
    w = [y for y in seq_w for _ in range(lanes)]
    length = max(len(a) - cut, 0)
    return a[:length], w[:length]


@cocotb.test()
async def corner_cases(dut):
    """L = 0, L < lanes, L not a multiple of lanes, zeros, -128, -1, and the lane corner cases
    (queue overflow / exactly full / empty, n == B, offset ties) in every lane at once."""
    ipu = await IPUBench(dut, seed=21).start()
    p, n = ipu.params, ipu.lanes
    rng = random.Random(8)
    lo = min(weight_range(ipu.wbits))
    products = [
        ("L = 0", [], []),
        ("L = 1", [-128], [lo]),
        ("L < lanes", *random_vector(max(n - 1, 1), ipu.wbits, rng)),
        ("L = lanes + 1", *random_vector(n + 1, ipu.wbits, rng)),
        ("L = 3 lanes - 1", *random_vector(3 * n - 1, ipu.wbits, rng)),
        ("L = 0 between", [], []),
        ("all zeros", [0] * (2 * n + 1), [0] * (2 * n + 1)),
        ("all -128", [-128] * (3 * n), [lo] * (3 * n)),
        ("all -1", [-1] * (2 * n + 2), [-1] * (2 * n + 2)),
    ]
    for name, a, w in lane_corner_cases(p["budget"], p["comp"], p["depth"], ipu.wbits):
        products.append((f"every lane: {name}", *_spread(a, w, n)))
        if n > 1:
            products.append((f"every lane: {name}, last transfer partial", *_spread(a, w, n, cut=n // 2)))
    for name, a, w in products:
        ipu.send(name, a, w)
    hand = HAND_WRITTEN_FIFO.get((p["budget"], p["comp"], p["depth"], ipu.wbits))
    if hand is not None:  # written by hand: every lane pops its oldest queued pair first
        ipu.send("hand-written FIFO case in every lane", *_spread(hand[0], hand[1], n), want=n * hand[2])
    await ipu.scoreboard.wait(500000)
    await ipu.scoreboard.finish(idle_cycles=4 * p["budget"] + n)
    dut._log.info("%d corner-case inner products exact", len(products))


@cocotb.test()
async def random_with_backpressure(dut):
    """Random lengths (0 .. 4 lanes + 3) and data, random valid gaps on cmd/data, ready drops on result."""
    ipu = await IPUBench(dut, seed=22, gap=0.4, drop=0.5).start()
    rng = random.Random(int(os.environ.get("SBQ_SEED", "4")))
    count = int(os.environ.get("SBQ_IPU_PRODUCTS", "30"))
    products = [(f"random {k}", *random_vector(rng.randrange(0, 4 * ipu.lanes + 4), ipu.wbits, rng)) for k in range(count)]
    await ipu.check(products)
    await ipu.scoreboard.finish(idle_cycles=8 * ipu.params["budget"] + ipu.lanes)
    dut._log.info("%d random inner products exact under back-pressure", count)


@cocotb.test()
async def aggregation_stalls(dut):
    """Short inner products (L <= lanes + 1) with full inputs and a rarely ready result: both
    ping-pong banks fill while an aggregation wave is half way down the chain, so the lanes must
    stall together without losing lock-step or overwriting a bank."""
    ipu = await IPUBench(dut, seed=25, drop=0.85).start()
    rng = random.Random(11)
    count = int(os.environ.get("SBQ_IPU_PRODUCTS", "30"))
    products = [(f"short {k}", *random_vector(rng.randrange(0, ipu.lanes + 2), ipu.wbits, rng)) for k in range(count)]
    await ipu.check(products)
    await ipu.scoreboard.finish(idle_cycles=8 * ipu.params["budget"] + ipu.lanes)


@cocotb.test()
async def reset_mid_inner_product(dut):
    """A reset in the middle of an inner product: results in flight are lost, none of the
    interrupted inner products comes out later, and the unit is exact afterwards."""
    ipu = await IPUBench(dut, seed=23, gap=0.1, drop=0.3).start()
    rng = random.Random(9)
    for k in range(2):
        ipu.send(f"before reset {k}", *random_vector(2 * ipu.lanes + 1, ipu.wbits, rng))
    while ipu.transfers.count() < 4:  # inside the second inner product
        await ipu.tb.cycles(1)
    ipu.cmd.clear()
    ipu.data.clear()
    await ipu.tb.reset()
    assert len(ipu.scoreboard.matched) <= 1, "more results than finished inner products before the reset"
    ipu.scoreboard.pending.clear()  # a result of an interrupted inner product would now be extra
    ipu.transfer_cycles()
    products = [(f"after reset {k}", *random_vector(rng.randrange(0, 3 * ipu.lanes), ipu.wbits, rng)) for k in range(8)]
    await ipu.check(products)
    await ipu.scoreboard.finish(idle_cycles=8 * ipu.params["budget"] + ipu.lanes)


@cocotb.test()
async def throughput(dut):
    """Full streams: cycles per data transfer and bubbles between inner products."""
    ipu = await IPUBench(dut, seed=24).start()
    p, n, budget = ipu.params, ipu.lanes, ipu.params["budget"]
    rng = random.Random(10)
    # Smallest number of transfers per inner product that never waits for the aggregation.
    long_enough = n // (2 * budget) + 1
    records = {}
    for transfers in sorted({1, max(long_enough - 1, 1), long_enough, long_enough + 1}):
        products = [(f"{transfers} transfers", *random_vector(transfers * n, ipu.wbits, rng)) for _ in range(12)]
        done = len(ipu.scoreboard.matched)
        await ipu.check(products)
        cycles = ipu.transfer_cycles()
        results = [t.cycle for t in ipu.scoreboard.matched[done:]]
        gaps = [b - a for a, b in zip(cycles, cycles[1:])]
        per_transfer = (cycles[-1] - cycles[0]) / (len(cycles) - 1)
        last_transfers = [cycles[(k + 1) * transfers - 1] for k in range(len(products))]
        latency = sorted({r - t for r, t in zip(results, last_transfers)})
        records[transfers] = {"cycles_per_transfer": per_transfer, "max_gap": max(gaps), "transfers": len(cycles),
                              "latency_last_transfer_to_result": latency}
        dut._log.info("%d transfers per inner product: %.3f cycles per transfer (budget %d), gaps %s, latency %s",
                      transfers, per_transfer, budget, sorted(set(gaps)), latency)
        if transfers >= long_enough:
            assert set(gaps) == {budget}, f"{transfers} transfers per inner product: gaps {sorted(set(gaps))}, expected {budget}"
            assert latency == [latency_cycles(budget, n)], f"latency {latency}, expected {latency_cycles(budget, n)} cycles"
    await ipu.scoreboard.finish()
    record_figures("throughput", "sbq_ipu", p, {"no_stall_from_transfers": long_enough, "by_transfers_per_product": records})


@cocotb.test()
async def stall_in_last_cycle(dut):
    """``result`` not ready for long: every lane fills both banks and the lanes stall together in the
    last cycle of an inner product, a spare cycle that pops a queue still holding entries; nothing is
    lost or overwritten, and the results come out in order once ``result`` is ready."""
    ipu = await IPUBench(dut, seed=26).start()
    n, budget = ipu.lanes, ipu.params["budget"]
    rng = random.Random(12)
    ipu.result.clear_pause_generator()
    ipu.result.pause = True  # ready stays low until the end of the test
    for k in range(6):
        light = fewer_than(budget, ipu.wbits, rng)
        seq = [heaviest(ipu.wbits, rng), heaviest(ipu.wbits, rng), light]
        ipu.send(f"behind a stopped result {k}", *_spread([x for x, _ in seq], [y for _, y in seq], n))
    await ipu.tb.cycles(30 * budget + 2 * n)
    assert not ipu.scoreboard.matched
    taken = ipu.transfers.count()
    await ipu.tb.cycles(4 * budget)
    assert ipu.transfers.count() == taken < 6 * 3, f"{ipu.transfers.count()} transfers taken while stalled"
    ipu.result.pause = False
    await ipu.scoreboard.wait(400 * budget + 20 * n)
    await ipu.scoreboard.finish(idle_cycles=8 * budget + n)


@cocotb.test()
async def longest_inner_product(dut):
    """L = 65535 (the largest length) of the largest term product, -128 x the most negative weight:
    the length counter, every lane's accumulator and bank and the aggregation at their largest sums
    (16 lanes, int4 weights: 4096 x 1024 = 2^22 per lane, which needs all 24 bits of the lane's sum).
    The sum is written by hand; transfers every B cycles and the latency are asserted."""
    ipu = await IPUBench(dut, seed=27).start()
    n, budget = ipu.lanes, ipu.params["budget"]
    lo = min(weight_range(ipu.wbits))
    product = 128 * -lo  # one term pair, (-2 << 6) x (-2 << (wbits - 2))
    a, w = [-128] * MAX_LENGTH, [lo] * MAX_LENGTH
    ipu.send("L = 65535 of -128 x the most negative weight", a, w, want=MAX_LENGTH * product)
    await ipu.scoreboard.wait(MAX_LENGTH // n * budget * 2 + 1000)
    cycles = ipu.transfer_cycles()
    assert len(cycles) == -(-MAX_LENGTH // n)
    gaps = sorted({b - c for c, b in zip(cycles, cycles[1:])})
    assert gaps == [budget], f"gaps between transfers {gaps}, expected {budget}"
    latency = ipu.scoreboard.matched[-1].cycle - cycles[-1]
    assert latency == latency_cycles(budget, n), f"latency {latency}, expected {latency_cycles(budget, n)}"
    await ipu.scoreboard.finish(idle_cycles=4 * budget + n)
