"""cocotb testbench: the eDQA quantizer (``edqa_quantizer``) bit-exact against ``golden.edqa.quantize_channel``."""

import os
import random

import cocotb
import numpy as np
import torch

from golden.edqa import quantize_channel, scales
from hdl.edqa.quantizer import STATUS_LAYOUT, Quantizer, quantizer_cmd_layout, quantizer_out_layout
from sim.edqa.cases import bits, corner_floats, finite_bits, load_activations, product_ties, real_activation_files
from sim.edqa.bench import ChannelBench
from sim.harness import bench_params, record_figures

ABSMAX = [float(np.float32(v)) for v in (1.0, 6.5, 1e-3, 1e-30, 3.0e30, 3.0e38)]


class QuantizerBench(ChannelBench):
    def __init__(self, dut, seed, gap=0.0, drop=0.0):
        super().__init__(dut, seed, gap, drop)
        self.cmd_layout = quantizer_cmd_layout(self.max_length)

    def data_shape(self):
        return 32

    def out_shape(self):
        return quantizer_out_layout(self.n, self.m)

    def compare(self, got, want):
        return (got.q, got.se, got.last, got.important) == want

    def send(self, name, x_bits, absmax, important, inv=None):
        """One channel; its golden (q, se) expected on ``out``. ``inv`` overrides the scale's bits."""
        s = scales(self.n, self.m, absmax)
        inv = s.bits("inv_nm" if important else "inv_n") if inv is None else inv
        self.cmd.send_nowait(self.cmd_layout.const({"length": len(x_bits), "important": important, "inv": inv}))
        for word in x_bits:
            self.data.send_nowait(word)
        x = torch.tensor(np.array(x_bits, dtype=np.uint32).view(np.float32))
        q, se = quantize_channel(x, self.n, self.m, absmax, important)
        se = se if important else torch.zeros_like(q)
        for k, (a, b) in enumerate(zip(q.tolist(), se.tolist())):
            self.scoreboard.expect((a, b, int(k == len(x_bits) - 1), int(important)), label=f"{name} element {k}")

    def status(self):
        return STATUS_LAYOUT.from_bits(int(self.dut.status.value))


@cocotb.test()
async def corners_and_random_floats(dut):
    """Each scale, both kinds of channel: +-0, subnormals, the float32 range ends, values at and past
    absmax, exact halfway points and their float32 neighbours, and random floats of every exponent;
    then products that are exact float32 ties whose tie rule decides the integer."""
    bench = await QuantizerBench(dut, seed=1).start()
    rng = random.Random(1)
    total = 0
    for absmax in ABSMAX:
        try:
            scales(bench.n, bench.m, absmax)
        except ValueError:
            continue
        for important in (True, False):
            xs = corner_floats(bench.n, bench.m, absmax, important) + [finite_bits(rng) for _ in range(100)]
            for start in range(0, len(xs), bench.max_length):  # channels of at most max_length elements
                part = xs[start:start + bench.max_length]
                bench.send(f"absmax {absmax} important {important} from {start}", part, absmax, important)
            total += len(xs)
    for important in (True, False):  # products exactly halfway between two float32 values
        for k, (absmax, x) in enumerate(product_ties(bench.n, bench.m, important)):
            bench.send(f"product tie {k} important {important}", [x, x ^ 0x80000000], absmax, important)
            total += 2
    await bench.scoreboard.wait(20 * total)
    await bench.scoreboard.finish(idle_cycles=10)
    assert bench.status().nonfinite == 0 and bench.status().bad_scale == 0
    dut._log.info("%d elements exact", total)


@cocotb.test()
async def real_activations(dut):
    """Channels of real network activations (every other one important), under back-pressure."""
    bench = await QuantizerBench(dut, seed=2, gap=0.2, drop=0.2).start()
    total = 0
    for path in real_activation_files():
        channels, absmax = load_activations(path)
        for c, channel in enumerate(channels):
            words = [int(w) for w in channel.view(np.uint32)[: bench.max_length]]
            bench.send(f"{os.path.basename(path)} channel {c}", words, absmax, important=c % 2 == 0)
            total += len(words)
    await bench.scoreboard.wait(20 * total)
    await bench.scoreboard.finish(idle_cycles=10)
    assert total > 0
    dut._log.info("%d real activations exact", total)


@cocotb.test()
async def nonfinite_and_bad_scale(dut):
    """NaN and infinities give 0 and raise ``nonfinite``; a zero, negative, infinite or NaN scale gives
    zeros and raises ``bad_scale``; ``clear`` clears both; the elements around them stay exact."""
    bench = await QuantizerBench(dut, seed=3).start()
    ok = [bits(0.5), bits(-1.25)]
    q, se = quantize_channel(torch.tensor(np.array(ok, dtype=np.uint32).view(np.float32)), bench.n, bench.m, 1.0, True)
    good = list(zip(q.tolist(), se.tolist()))
    words = ok + [0x7FC00000, 0x7F800000, 0xFF800000, 0x7F800001] + ok
    inv = scales(bench.n, bench.m, 1.0).bits("inv_nm")
    bench.cmd.send_nowait(bench.cmd_layout.const({"length": len(words), "important": 1, "inv": inv}))
    for word in words:
        bench.data.send_nowait(word)
    for k, (a, b) in enumerate(good + [(0, 0)] * 4 + good):
        bench.scoreboard.expect((a, b, int(k == len(words) - 1), 1), label=f"element {k}")
    await bench.scoreboard.wait(200)
    assert (bench.status().nonfinite, bench.status().bad_scale) == (1, 0)
    dut.clear.value = 1
    await bench.tb.cycles(1)
    dut.clear.value = 0
    await bench.tb.cycles(1)
    assert bench.status().nonfinite == 0, "clear did not clear nonfinite"
    for bad in (0x00000000, 0xBF800000, 0x7F800000, 0x7FC00000):  # 0, -1.0, +inf, NaN
        bench.cmd.send_nowait(bench.cmd_layout.const({"length": 2, "important": 1, "inv": bad}))
        bench.data.send_nowait(bits(0.75))
        bench.data.send_nowait(bits(-3.0))
        for k in range(2):
            bench.scoreboard.expect((0, 0, k, 1), label=f"scale {bad:#x} element {k}")
    await bench.scoreboard.wait(200)
    await bench.scoreboard.finish(idle_cycles=10)
    assert (bench.status().nonfinite, bench.status().bad_scale) == (0, 1)


@cocotb.test()
async def reset_mid_channel(dut):
    """A reset in the middle of a channel: nothing of it comes out afterwards; exact again after."""
    bench = await QuantizerBench(dut, seed=4, gap=0.1, drop=0.3).start()
    rng = random.Random(4)
    bench.send("interrupted", [finite_bits(rng) for _ in range(200)], 1.0, True)
    await bench.tb.until(lambda: bench.inputs.count() >= 50, 5000, "50 elements taken")
    await bench.reset()
    for k in range(4):
        bench.send(f"after reset {k}", [bits(rng.uniform(-2, 2)) for _ in range(rng.randrange(1, 60))], 1.0, k % 2 == 0)
    await bench.scoreboard.wait(5000)
    await bench.scoreboard.finish(idle_cycles=20)


@cocotb.test()
async def throughput_and_latency(dut):
    """Full streams: one element per cycle over channels of every length up to the maximum, and
    the asserted latency from an element's transfer to its result."""
    bench = await QuantizerBench(dut, seed=5).start()
    rng = random.Random(5)
    lengths = [1, 2, 49, bench.max_length]
    for length in lengths:
        bench.send(f"length {length}", [bits(rng.uniform(-1.5, 1.5)) for _ in range(length)], 1.0, length % 2 == 1)
    await bench.scoreboard.wait(3 * sum(lengths) + 100)
    await bench.scoreboard.finish()
    inputs = [bench.inputs.recv_nowait().cycle for _ in range(bench.inputs.count())]
    outputs = [t.cycle for t in bench.scoreboard.matched]
    latency = sorted({o - i for i, o in zip(inputs, outputs)})
    longest = inputs[-bench.max_length:]
    gaps = sorted({b - a for a, b in zip(longest, longest[1:])})
    assert latency == [Quantizer.LATENCY], f"latency {latency}, expected {Quantizer.LATENCY}"
    assert gaps == [1], f"gaps between elements of one channel: {gaps}"
    record_figures("throughput", "edqa_quantizer", bench_params(),
                   {"latency_cycles": latency[0], "elements_per_cycle": 1.0, "max_length": bench.max_length})
