"""cocotb testbench: the eDQA de-quantizer (``edqa_dequantizer``) bit-exact against ``golden.edqa.dequantize_channel``."""

import random

import cocotb
import numpy as np
import torch

from golden.edqa import dequantize_channel, scales
from hdl.edqa.dequantizer import DEQUANT_STATUS_LAYOUT, DeQuantizer, dequantizer_cmd_layout, value_layout
from hdl.edqa.quantizer import quantized_layout
from sim.edqa.cases import f32, finite_bits
from sim.edqa.bench import ChannelBench
from sim.harness import bench_params, record_figures


class DeQuantizerBench(ChannelBench):
    def __init__(self, dut, seed, gap=0.0, drop=0.0):
        super().__init__(dut, seed, gap, drop)
        self.cmd_layout, self.element = dequantizer_cmd_layout(self.max_length), quantized_layout(self.n, self.m)

    def data_shape(self):
        return self.element

    def out_shape(self):
        return value_layout

    def compare(self, got, want):
        return (got.value, got.last) == want

    def send(self, name, items, absmax, important, scale=None):
        """One channel of ``(q, se)``; its golden float32 bits expected (or +0.0 with a bad ``scale``)."""
        s = scales(self.n, self.m, absmax)
        bad = scale is not None
        scale = s.bits("delta_nm" if important else "delta_n") if scale is None else scale
        for start in range(0, len(items), self.max_length):
            part = items[start:start + self.max_length]
            self.cmd.send_nowait(self.cmd_layout.const({"length": len(part), "important": important, "scale": scale}))
            for q, se in part:
                self.data.send_nowait(self.element.const({"q": q, "se": se, "last": 0}))
            q = torch.tensor([a for a, _ in part])
            se = torch.tensor([b for _, b in part]) if important else None
            want = [0] * len(part) if bad else \
                dequantize_channel(q, se, self.n, self.m, absmax, important).view(torch.int32).numpy().astype(np.uint32).tolist()
            for k, bits in enumerate(want):
                self.scoreboard.expect((bits, int(k == len(part) - 1)), label=f"{name} element {start + k}")

    def every_integer(self, important):
        qs = range(-(1 << (self.n - 1)), 1 << (self.n - 1))
        return [(q, se) for q in qs for se in (range(1 << self.m) if important else [0])]

    def status(self):
        return DEQUANT_STATUS_LAYOUT.from_bits(int(self.dut.status.value))


@cocotb.test()
async def every_integer_every_scale(dut):
    """Every (q, se) of the channel's range times ordinary, tiny (subnormal results) and huge
    (overflow to infinity) scales and random ones, for both kinds of channel."""
    bench = await DeQuantizerBench(dut, seed=1).start()
    rng = random.Random(1)
    absmaxes = [float(np.float32(v)) for v in (1.0, 6.5, 1e-3, 1e-30, 3.0e30, 3.0e38)] + [f32(1), f32(0x00012345)]
    absmaxes += [abs(f32(finite_bits(rng))) for _ in range(6)]
    total = 0
    for absmax in absmaxes:
        try:
            scales(bench.n, bench.m, absmax)
        except ValueError:
            continue
        for important in (True, False):
            items = bench.every_integer(important)
            bench.send(f"absmax {absmax} important {important}", items, absmax, important)
            total += len(items)
    await bench.scoreboard.wait(10 * total + 100)
    await bench.scoreboard.finish(idle_cycles=10)
    assert bench.status().bad_scale == 0
    dut._log.info("%d elements exact", total)


@cocotb.test()
async def backpressure_bad_scale_and_reset(dut):
    """Random gaps and ready drops; a bad scale gives +0.0 and raises bad_scale (cleared by clear);
    a reset mid channel loses it and nothing of it comes out later."""
    bench = await DeQuantizerBench(dut, seed=2, gap=0.3, drop=0.4).start()
    rng = random.Random(2)
    for k in range(6):
        items = [rng.choice(bench.every_integer(k % 2 == 0)) for _ in range(rng.randrange(1, 80))]
        bench.send(f"random {k}", items, 1.0, k % 2 == 0)
    bench.send("bad scale", [(1, 1), (-1, 0)], 1.0, True, scale=0xFF800000)
    await bench.scoreboard.wait(5000)
    assert bench.status().bad_scale == 1
    dut.clear.value = 1
    await bench.tb.cycles(1)
    dut.clear.value = 0
    await bench.tb.cycles(1)
    assert bench.status().bad_scale == 0
    bench.send("interrupted", [(1, 0)] * 100, 1.0, False)
    await bench.tb.until(lambda: bench.inputs.count() >= 30, 5000, "30 elements taken")
    await bench.reset()
    bench.send("after reset", bench.every_integer(True), 6.5, True)
    await bench.scoreboard.wait(5000)
    await bench.scoreboard.finish(idle_cycles=20)


@cocotb.test()
async def throughput_and_latency(dut):
    """Full streams: one element per cycle, the asserted latency, a maximum-length channel."""
    bench = await DeQuantizerBench(dut, seed=3).start()
    rng = random.Random(3)
    items = [rng.choice(bench.every_integer(True)) for _ in range(bench.max_length)]
    bench.send("longest", items, 1.0, True)
    await bench.scoreboard.wait(3 * bench.max_length + 100)
    await bench.scoreboard.finish()
    inputs = [bench.inputs.recv_nowait().cycle for _ in range(bench.inputs.count())]
    outputs = [t.cycle for t in bench.scoreboard.matched]
    latency = sorted({o - i for i, o in zip(inputs, outputs)})
    gaps = sorted({b - a for a, b in zip(inputs, inputs[1:])})
    assert latency == [DeQuantizer.LATENCY], f"latency {latency}, expected {DeQuantizer.LATENCY}"
    assert gaps == [1], f"gaps {gaps}"
    record_figures("throughput", "edqa_dequantizer", bench_params(),
                   {"latency_cycles": latency[0], "elements_per_cycle": 1.0, "max_length": bench.max_length})
