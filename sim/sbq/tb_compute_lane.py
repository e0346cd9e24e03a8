"""cocotb testbench: one SBQ compute lane (``sbq_lane``) bit-exact against ``golden.sbq.dot(lanes=1)``."""

import os
import random

import cocotb
from amaranth.hdl import signed

from hdl.sbq.compute_lane import mult_layout, sum_width
from sim.harness import bench_params, record_figures
from sim.sbq.cases import expected, lane_corner_cases, random_vector
from sim.streams import Scoreboard, Testbench, random_pauses


class LaneBench:
    """The lane's streams: ``mult`` source (with a monitor for transfer cycles), ``result`` sink and
    scoreboard, and random ``hold`` pulses. ``gap``/``drop``/``hold`` are per-cycle probabilities."""

    def __init__(self, dut, seed: int, gap: float = 0.0, drop: float = 0.0, hold: float = 0.0):
        self.dut, self.seed, self.hold = dut, seed, hold
        self.params = bench_params()
        self.layout = mult_layout(self.params["wbits"])
        self.gap, self.drop = gap, drop

    async def start(self):
        self.tb = tb = Testbench(self.dut)
        await tb.start()
        self.dut.hold.value = 0
        self.mult = tb.source("mult", random_pauses(self.gap, self.seed))
        self.mults = tb.monitor("mult", self.layout)
        self.result = tb.sink("result", signed(sum_width(65535, self.params["wbits"])),
                              random_pauses(self.drop, self.seed + 1))
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

    def send(self, name, a, w):
        """One inner product: its multiplications, and its golden sum expected on ``result``."""
        for k, (x, y) in enumerate(zip(a, w)):
            self.mult.send_nowait(self.layout.const({"a": x, "w": y, "last": int(k == len(a) - 1)}))
        p = self.params
        self.scoreboard.expect(expected(a, w, p["budget"], p["comp"], p["depth"], lanes=1), label=f"{name} a={a} w={w}")

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
    await lane.check(cases)
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
    # Latency: the result is on the output 2B + 1 cycles after the last multiplication's transfer.
    ends = [sum(len(a) for _, a, _ in products[: k + 1]) - 1 for k in range(len(products))]
    latency = sorted({t.cycle - cycles[end] for t, end in zip(lane.scoreboard.matched, ends)})
    assert latency == [2 * p["budget"] + 1], f"latency {latency}, expected {2 * p['budget'] + 1} cycles"
    record_figures("throughput", "sbq_lane", p, {"multiplications": len(cycles), "cycles_per_multiplication": per_mult,
                                                 "latency_last_transfer_to_result": latency})
