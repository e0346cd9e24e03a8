"""cocotb testbench: one SBQ compute lane (``sbq_lane``) bit-exact against ``golden.sbq.dot(lanes=1)``."""

import os
import random

import cocotb
from amaranth.hdl import signed

from hdl.sbq.compute_lane import PRODUCT_STAGES, lane_latency, mult_layout, sum_width
from sim.harness import bench_params, record_figures
from sim.sbq.cases import HAND_WRITTEN_FIFO, expected, fewer_than, heaviest, lane_corner_cases, lane_model, random_vector
from sim.streams import Scoreboard, Testbench, random_pauses


def gated(pauses, gate):
    """``pauses``, except that every cycle is paused while ``gate["closed"]`` is set."""
    for pause in pauses:
        yield pause or gate["closed"]


class LaneBench:
    """The lane's streams: ``mult`` source (with a monitor for transfer cycles), ``result`` sink and
    scoreboard, and random ``hold`` pulses. ``gap``/``drop``/``hold`` are per-cycle probabilities."""

    def __init__(self, dut, seed: int, gap: float = 0.0, drop: float = 0.0, hold: float = 0.0):
        self.dut, self.seed, self.hold = dut, seed, hold
        self.params = bench_params()
        self.layout = mult_layout(self.params["wbits"])
        self.gap, self.drop = gap, drop
        self.gate = {"closed": False}  # closes result.ready for as long as a test wants

    async def start(self):
        self.tb = tb = Testbench(self.dut)
        await tb.start()
        self.dut.hold.value = 0
        self.mult = tb.source("mult", random_pauses(self.gap, self.seed))
        self.mults = tb.monitor("mult", self.layout)
        self.result = tb.sink("result", signed(sum_width(65535, self.params["wbits"])),
                              gated(random_pauses(self.drop, self.seed + 1), self.gate))
        self.scoreboard = Scoreboard(self.result)
        if self.hold:
            cocotb.start_soon(self._hold())
        await tb.reset()
        return self

    async def _hold(self):
        rng = random.Random(self.seed + 2)
        while True:
            await self.tb.cycles(1)
            self.dut.hold.value = int(rng.random() < self.hold)

    def send(self, name, a, w, want=None):
        """One inner product: its multiplications, and its golden sum expected on ``result`` (``want``:
        a hand-written sum instead, which must also be the golden model's)."""
        for k, (x, y) in enumerate(zip(a, w)):
            self.mult.send_nowait(self.layout.const({"a": x, "w": y, "last": int(k == len(a) - 1)}))
        p = self.params
        golden = expected(a, w, p["budget"], p["comp"], p["depth"], lanes=1)
        assert want is None or want == golden, f"{name}: hand-written sum {want}, golden model {golden}"
        self.scoreboard.expect(golden, label=f"{name} a={a} w={w}")

    async def check(self, products, max_cycles=200000):
        for name, a, w in products:
            self.send(name, a, w)
        await self.scoreboard.wait(max_cycles)


@cocotb.test()
async def corner_cases(dut):
    """Zeros, -128, -1, queue overflow / exactly full / empty, n == B, offset ties, pop/push hand-over."""
    lane = await LaneBench(dut, seed=11).start()
    p = lane.params
    cases = lane_corner_cases(p["budget"], p["comp"], p["depth"], p["wbits"])
    for name, a, w in cases:
        lane.send(name, a, w)
    hand = HAND_WRITTEN_FIFO.get((p["budget"], p["comp"], p["depth"], p["wbits"]))
    if hand is not None:  # its answer written by hand: the oldest queued pair is popped first
        lane.send("hand-written FIFO case", hand[0], hand[1], want=hand[2])
        assert hand[3] != hand[2]  # a last-in first-out queue would give another sum
    await lane.scoreboard.wait(200000)
    await lane.scoreboard.finish(idle_cycles=4 * p["budget"])
    dut._log.info("%d corner cases exact: %s", len(cases), ", ".join(name for name, *_ in cases))


@cocotb.test()
async def random_with_backpressure(dut):
    """Random inner products with random valid gaps, ready drops and hold pulses."""
    lane = await LaneBench(dut, seed=12, gap=0.3, drop=0.5, hold=0.1).start()
    rng = random.Random(int(os.environ.get("SBQ_SEED", "3")))
    count = int(os.environ.get("SBQ_LANE_PRODUCTS", "40"))
    products = [(f"random {n}", *random_vector(rng.randrange(1, 14), lane.params["wbits"], rng)) for n in range(count)]
    await lane.check(products)
    await lane.scoreboard.finish(idle_cycles=8 * lane.params["budget"])
    dut._log.info("%d random inner products exact under back-pressure", count)


@cocotb.test()
async def reset_mid_inner_product(dut):
    """A reset in the middle of an inner product: no result of it comes out, and the lane is exact afterwards."""
    lane = await LaneBench(dut, seed=13, gap=0.1, drop=0.2).start()
    rng = random.Random(5)
    a, w = random_vector(12, lane.params["wbits"], rng, p_zero=0.1)
    lane.send("interrupted", a, w)
    while lane.mults.count() < 5:  # in the middle of the inner product
        await lane.tb.cycles(1)
    lane.mult.clear()
    await lane.tb.reset()
    lane.scoreboard.pending.clear()  # a result of the interrupted inner product would now be extra
    products = [(f"after reset {n}", *random_vector(rng.randrange(1, 10), lane.params["wbits"], rng)) for n in range(8)]
    await lane.check(products)
    await lane.scoreboard.finish(idle_cycles=8 * lane.params["budget"])


@cocotb.test()
async def throughput(dut):
    """Full streams: one multiplication every B cycles, no bubble between inner products."""
    lane = await LaneBench(dut, seed=14).start()
    p = lane.params
    rng = random.Random(6)
    products = [(f"len {n}", *random_vector(n, p["wbits"], rng)) for n in (3, 1, 5, 2, 8, 1, 1, 4)]
    await lane.check(products)
    await lane.scoreboard.finish()
    cycles = [lane.mults.recv_nowait().cycle for _ in range(lane.mults.count())]
    assert len(cycles) == sum(len(a) for _, a, _ in products)
    gaps = sorted({b - a for a, b in zip(cycles, cycles[1:])})
    per_mult = (cycles[-1] - cycles[0]) / (len(cycles) - 1)
    dut._log.info("cycles between multiplications: %s (budget %d), %.3f on average", gaps, p["budget"], per_mult)
    assert gaps == [p["budget"]], f"expected one multiplication every {p['budget']} cycles, gaps {gaps}"
    # Latency: the result is on the output 4B + 3 cycles after the last multiplication's transfer.
    ends = [sum(len(a) for _, a, _ in products[: k + 1]) - 1 for k in range(len(products))]
    latency = sorted({t.cycle - cycles[end] for t, end in zip(lane.scoreboard.matched, ends)})
    want = lane_latency(p["budget"])
    assert want == 4 * p["budget"] + 3
    assert latency == [want], f"latency {latency}, expected {want} cycles"
    record_figures("throughput", "sbq_lane", p, {"multiplications": len(cycles), "cycles_per_multiplication": per_mult,
                                                 "latency_last_transfer_to_result": latency})


def _queue_then_pop_last(budget: int, comp: int, wbits: int, rng: random.Random):
    """An inner product that ends with a multiplication of fewer than ``B`` pairs (``B - 1`` where that
    count exists, a zero when ``B = 1``) after two heavy ones: its last cycle is a spare cycle that
    pops the queue, which still holds entries (when ``C > 0``)."""
    seq = [heaviest(wbits, rng), heaviest(wbits, rng), fewer_than(budget, wbits, rng)]
    return [x for x, _ in seq], [y for _, y in seq]


@cocotb.test()
async def result_backpressure_stall(dut):
    """``result.ready`` low long enough for a third result: the lane fills both banks, stalls (``stall``
    high, no multiplication taken) when the third inner product's last product (from a spare cycle
    that popped a non-empty queue) would be added, holds there without overwriting a bank, and gives
    all results in order once ``ready`` returns."""
    lane = await LaneBench(dut, seed=15).start()
    p, budget = lane.params, lane.params["budget"]
    rng = random.Random(16)
    lane.gate["closed"] = True
    for k in range(5):
        lane.send(f"behind a stopped result {k}", *_queue_then_pop_last(budget, p["comp"], p["wbits"], rng))
    await lane.tb.until(lambda: int(dut.stall.value) == 1, 40 * budget, "stall with both banks full")
    await lane.tb.cycles(2)
    # Taken: 3 inner products of 3, the 4 behind the third one's last (stages S2, S1, E and the one
    # accepted at the end of its compute window), and when B = 1 the one accepted while its last
    # product went through stages M and P (the stall comes PRODUCT_STAGES cycles after that window).
    taken, want = lane.mults.count(), 9 + 4 + (PRODUCT_STAGES - 1) // budget
    assert taken == want, f"{taken} multiplications taken before the stall, expected {want}"
    for _ in range(6 * budget):  # it stays stalled, takes nothing and gives nothing
        await lane.tb.cycles(1)
        assert int(dut.stall.value) == 1 and lane.mults.count() == taken and int(dut.mult__ready.value) == 0
    assert not lane.scoreboard.matched and int(dut.result__valid.value) == 1
    lane.gate["closed"] = False
    await lane.scoreboard.wait(100 * budget)
    await lane.scoreboard.finish(idle_cycles=4 * budget)


@cocotb.test()
async def hold_in_last_window(dut):
    """``hold`` for one cycle at every cycle of an inner product's last compute window (its last cycle
    included, where a spare cycle pops a non-empty queue), at each of the ``PRODUCT_STAGES`` cycles
    after it (the last one writes the bank) and one cycle later: exact, and the result exactly one
    cycle later than ``4B + 3`` after the last multiplication (on time for the hold after the bank write)."""
    lane = await LaneBench(dut, seed=17).start()
    p, budget = lane.params, lane.params["budget"]
    rng = random.Random(18)
    a, w = _queue_then_pop_last(budget, p["comp"], p["wbits"], rng)
    before, popped = lane_model(a, w, budget, p["comp"], p["depth"])[1][-1]
    assert not p["comp"] or (before > 0 and popped > 0), "the last window must pop a non-empty queue"
    tb = lane.tb
    for delay in range(-budget + 1, PRODUCT_STAGES + 2):  # 0: the last cycle of the compute window
        lane.mults.clear()
        start = len(lane.scoreboard.matched)
        lane.send(f"hold at {delay:+d}", a, w)
        await tb.until(lambda: lane.mults.count() == len(a), 40 * budget, "the inner product's multiplications")
        last = [lane.mults.recv_nowait().cycle for _ in range(len(a))][-1]
        hold_edge = last + 4 * budget + delay  # the cycle before this edge is held
        assert tb.cycle() < hold_edge, "too late to place the hold"
        if hold_edge - 1 > tb.cycle():
            await tb.cycles(hold_edge - 1 - tb.cycle())
        dut.hold.value = 1
        await tb.cycles(1)
        dut.hold.value = 0
        await lane.scoreboard.wait(10 * budget)
        got = lane.scoreboard.matched[start].cycle - last
        want = lane_latency(budget) + (delay <= PRODUCT_STAGES)  # a hold after the bank write delays nothing
        assert got == want, f"hold {delay:+d} cycles from the window's end: latency {got}, expected {want}"
    await lane.scoreboard.finish(idle_cycles=4 * budget)
