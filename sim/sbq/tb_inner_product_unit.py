"""cocotb testbench: the SBQ inner product unit (``sbq_ipu``) bit-exact against ``golden.sbq.dot``.

Every inner product is sent as a ``cmd`` (its length ``L``) and ``ceil(L / lanes)`` ``data``
transfers; the slots ``>= L`` of the last transfer carry random garbage, which the unit must ignore.
"""

import os
import random

import cocotb

from hdl.sbq.compute_lane import sum_width
from hdl.sbq.inner_product_unit import MAX_LENGTH
from sim.harness import bench_params
from sim.sbq.cases import expected, lane_corner_cases, random_vector, weight_range
from sim.sbq.streams import Sink, Source, StreamBench, pack, record_throughput


class IPUBench:
    def __init__(self, dut, seed, p_cmd=1.0, p_data=1.0, p_ready=1.0):
        self.params = bench_params()
        self.lanes, self.wbits = self.params["lanes"], self.params["wbits"]
        self.rng = random.Random(seed)
        self.bench = StreamBench(dut, seed)
        self.cmd = Source(dut, "cmd", p_cmd)
        self.data = Source(dut, "data", p_data)
        self.result = Sink(dut, "result", sum_width(MAX_LENGTH, self.wbits), p_ready)
        self.bench.sources += [self.cmd, self.data]
        self.bench.sinks.append(self.result)
        self.transfers_per_product: list[int] = []

    def queue(self, a, w) -> None:
        """One inner product; garbage in the unused slots of the last transfer."""
        n = self.lanes
        length = len(a)
        self.cmd.items.append(length)
        transfers = -(-length // n)
        self.transfers_per_product.append(transfers)
        for t in range(transfers):
            xs, ys = [], []
            for s in range(n):
                k = t * n + s
                if k < length:
                    xs.append(a[k])
                    ys.append(w[k])
                else:
                    xs.append(self.rng.randrange(-128, 128))
                    ys.append(self.rng.choice(weight_range(self.wbits)))
            self.data.items.append(pack([(x, 8) for x in xs] + [(y, self.wbits) for y in ys]))

    def golden(self, a, w) -> int:
        p = self.params
        return expected(a, w, p["budget"], p["comp"], p["depth"], lanes=self.lanes)

    async def check(self, products, max_cycles=500000):
        """Send ``[(name, a, w)]`` and compare every result with the golden model."""
        start = len(self.result.received)
        for _, a, w in products:
            self.queue(a, w)
        await self.bench.run(lambda: len(self.result.received) >= start + len(products), max_cycles)
        got = self.result.received[start:]
        want = [self.golden(a, w) for _, a, w in products]
        wrong = [(name, g, e, len(a)) for (name, a, w), g, e in zip(products, got, want) if g != e]
        assert not wrong, f"{len(wrong)} of {len(products)} inner products differ (name, rtl, golden, L); first: {wrong[:3]}"


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
    ipu = IPUBench(dut, seed=21)
    await ipu.bench.start()
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
    await ipu.check(products)
    dut._log.info("%d corner-case inner products exact", len(products))


@cocotb.test()
async def random_with_backpressure(dut):
    """Random lengths (0 .. 4 lanes + 3) and data, random valid gaps on cmd/data, ready drops on result."""
    ipu = IPUBench(dut, seed=22, p_cmd=0.6, p_data=0.6, p_ready=0.5)
    await ipu.bench.start()
    rng = random.Random(int(os.environ.get("SBQ_SEED", "4")))
    count = int(os.environ.get("SBQ_IPU_PRODUCTS", "30"))
    products = [(f"random {k}", *random_vector(rng.randrange(0, 4 * ipu.lanes + 4), ipu.wbits, rng)) for k in range(count)]
    await ipu.check(products)
    dut._log.info("%d random inner products exact under back-pressure", count)


@cocotb.test()
async def aggregation_stalls(dut):
    """Short inner products (L <= lanes + 1) with full inputs and a rarely ready result: both
    ping-pong banks fill while an aggregation wave is half way down the chain, so the lanes must
    stall together without losing lock-step or overwriting a bank."""
    ipu = IPUBench(dut, seed=25, p_ready=0.15)
    await ipu.bench.start()
    rng = random.Random(11)
    count = int(os.environ.get("SBQ_IPU_PRODUCTS", "30"))
    products = [(f"short {k}", *random_vector(rng.randrange(0, ipu.lanes + 2), ipu.wbits, rng)) for k in range(count)]
    await ipu.check(products)


@cocotb.test()
async def reset_mid_inner_product(dut):
    """A reset in the middle of an inner product (results in flight are lost); exact afterwards."""
    ipu = IPUBench(dut, seed=23, p_cmd=0.9, p_data=0.9, p_ready=0.7)
    await ipu.bench.start()
    rng = random.Random(9)
    first = [(f"before reset {k}", *random_vector(2 * ipu.lanes + 1, ipu.wbits, rng)) for k in range(2)]
    for _, a, w in first:
        ipu.queue(a, w)
    await ipu.bench.run(lambda: ipu.data.sent >= 4, 10000)  # inside the second inner product
    ipu.cmd.items.clear()
    ipu.data.items.clear()
    await ipu.bench.reset()
    before = len(ipu.result.received)
    assert before <= 1, f"more results than finished inner products before the reset: {ipu.result.received}"
    products = [(f"after reset {k}", *random_vector(rng.randrange(0, 3 * ipu.lanes), ipu.wbits, rng)) for k in range(8)]
    await ipu.check(products)


@cocotb.test()
async def throughput(dut):
    """Full streams: cycles per data transfer and bubbles between inner products."""
    ipu = IPUBench(dut, seed=24)
    await ipu.bench.start()
    p, n, budget = ipu.params, ipu.lanes, ipu.params["budget"]
    rng = random.Random(10)
    # Smallest number of transfers per inner product that never waits for the aggregation.
    long_enough = n // (2 * budget) + 1
    records = {}
    for transfers in sorted({1, max(long_enough - 1, 1), long_enough, long_enough + 1}):
        ipu.data.transfer_cycles.clear()
        products = [(f"{transfers} transfers", *random_vector(transfers * n, ipu.wbits, rng)) for _ in range(12)]
        await ipu.check(products)
        cycles = ipu.data.transfer_cycles
        gaps = [b - a for a, b in zip(cycles, cycles[1:])]
        per_transfer = (cycles[-1] - cycles[0]) / (len(cycles) - 1)
        last_transfers = [cycles[(k + 1) * transfers - 1] for k in range(len(products))]
        latency = sorted({r - t for r, t in zip(ipu.result.transfer_cycles[-len(products):], last_transfers)})
        records[transfers] = {"cycles_per_transfer": per_transfer, "max_gap": max(gaps), "transfers": len(cycles),
                              "latency_last_transfer_to_result": latency}
        dut._log.info("%d transfers per inner product: %.3f cycles per transfer (budget %d), gaps %s, latency %s",
                      transfers, per_transfer, budget, sorted(set(gaps)), latency)
        if transfers >= long_enough:
            assert set(gaps) == {budget}, f"{transfers} transfers per inner product: gaps {sorted(set(gaps))}, expected {budget}"
    record_throughput("sbq_ipu", p, {"no_stall_from_transfers": long_enough, "by_transfers_per_product": records})
