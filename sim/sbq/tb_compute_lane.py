"""cocotb testbench: one SBQ compute lane (``sbq_lane``) bit-exact against ``golden.sbq.dot(lanes=1)``."""

import os
import random

import cocotb

from hdl.sbq.compute_lane import sum_width
from sim.harness import bench_params
from sim.sbq.cases import expected, lane_corner_cases, random_vector
from sim.sbq.streams import Sink, Source, StreamBench, pack, record_throughput


def _setup(dut, seed, p_valid=1.0, p_ready=1.0, p_hold=0.0):
    params = bench_params()
    bench = StreamBench(dut, seed)
    source = Source(dut, "mult", p_valid)
    sink = Sink(dut, "result", sum_width(65535, params["wbits"]), p_ready)
    bench.sources.append(source)
    bench.sinks.append(sink)

    def hold(b):
        dut.hold.value = int(b.rng.random() < p_hold)

    bench.initial["hold"] = 0
    if p_hold:
        bench.on_cycle.append(hold)
    return params, bench, source, sink


def _queue(source, params, a, w):
    wbits = params["wbits"]
    for k, (x, y) in enumerate(zip(a, w)):
        source.items.append(pack([(x, 8), (y, wbits), (int(k == len(a) - 1), 1)]))


def _golden(params, a, w):
    return expected(a, w, params["budget"], params["comp"], params["depth"], lanes=1)


async def _check(bench, source, sink, params, products, max_cycles=200000):
    """Send every inner product of ``products`` ``[(name, a, w)]`` and compare all results."""
    start = len(sink.received)
    for _, a, w in products:
        _queue(source, params, a, w)
    await bench.run(lambda: len(sink.received) >= start + len(products), max_cycles)
    got = sink.received[start:]
    wrong = [(name, g, _golden(params, a, w), a, w) for (name, a, w), g in zip(products, got) if g != _golden(params, a, w)]
    assert not wrong, f"{len(wrong)} of {len(products)} inner products differ; first: {wrong[0]}"


@cocotb.test()
async def corner_cases(dut):
    """Zeros, -128, -1, queue overflow / exactly full / empty, n == B, offset ties, pop/push hand-over."""
    params, bench, source, sink = _setup(dut, seed=11)
    await bench.start()
    cases = lane_corner_cases(params["budget"], params["comp"], params["depth"], params["wbits"])
    await _check(bench, source, sink, params, cases)
    dut._log.info("%d corner cases exact: %s", len(cases), ", ".join(name for name, *_ in cases))


@cocotb.test()
async def random_with_backpressure(dut):
    """Random inner products with random valid gaps, ready drops and hold pulses."""
    params, bench, source, sink = _setup(dut, seed=12, p_valid=0.7, p_ready=0.5, p_hold=0.1)
    await bench.start()
    rng = random.Random(int(os.environ.get("SBQ_SEED", "3")))
    count = int(os.environ.get("SBQ_LANE_PRODUCTS", "40"))
    products = []
    for n in range(count):
        a, w = random_vector(rng.randrange(1, 14), params["wbits"], rng)
        products.append((f"random {n}", a, w))
    await _check(bench, source, sink, params, products)
    dut._log.info("%d random inner products exact under back-pressure", count)


@cocotb.test()
async def reset_mid_inner_product(dut):
    """A reset in the middle of an inner product; the lane is exact again afterwards."""
    params, bench, source, sink = _setup(dut, seed=13, p_valid=0.9, p_ready=0.8)
    await bench.start()
    rng = random.Random(5)
    a, w = random_vector(12, params["wbits"], rng, p_zero=0.1)
    _queue(source, params, a, w)
    await bench.run(lambda: source.sent >= 5, 10000)  # in the middle of the inner product
    source.items.clear()
    await bench.reset()
    received = len(sink.received)
    products = [(f"after reset {n}", *random_vector(rng.randrange(1, 10), params["wbits"], rng)) for n in range(8)]
    await _check(bench, source, sink, params, products)
    assert received == 0, f"a result came out of the interrupted inner product: {sink.received}"


@cocotb.test()
async def throughput(dut):
    """Full streams: one multiplication every B cycles, no bubble between inner products."""
    params, bench, source, sink = _setup(dut, seed=14)
    await bench.start()
    rng = random.Random(6)
    products = [(f"len {n}", *random_vector(n, params["wbits"], rng)) for n in (3, 1, 5, 2, 8, 1, 1, 4)]
    await _check(bench, source, sink, params, products)
    cycles = source.transfer_cycles
    gaps = sorted({b - a for a, b in zip(cycles, cycles[1:])})
    per_mult = (cycles[-1] - cycles[0]) / (len(cycles) - 1)
    dut._log.info("cycles between multiplications: %s (budget %d), %.3f on average", gaps, params["budget"], per_mult)
    assert gaps == [params["budget"]], f"expected one multiplication every {params['budget']} cycles, gaps {gaps}"
    record_throughput("sbq_lane", params, {"multiplications": len(cycles), "cycles_per_multiplication": per_mult})
