"""cocotb testbench: the eDQA Huffman encoder (``edqa_huffman_encoder``) against ``golden.edqa.encode_packet``."""

import os
import random

import cocotb

from golden.edqa import encode_packet, huffman_code_lengths, quantize_layer, shift_error_counts
from hdl.edqa.bit_packer import word_layout
from hdl.edqa.huffman_encoder import HuffmanEncoder, payload_lanes
from sim.edqa.cases import load_activations, random_channel, real_activation_files
from sim.edqa.bench import ChannelBench
from sim.harness import bench_params, record_figures


class EncoderBench(ChannelBench):
    def data_shape(self):
        return self.m

    def out_shape(self):
        return word_layout

    def compare(self, got, want):
        return (got.word, got.last) == want

    def send(self, name, se):
        self.cmd.send_nowait(len(se))
        for s in se:
            self.data.send_nowait(s)
        packet = encode_packet(se, self.m)
        for k, word in enumerate(packet):
            self.scoreboard.expect((word, int(k == len(packet) - 1)), label=f"{name} word {k}")


@cocotb.test()
async def channels(dut):
    """Random skews, one symbol (all codes '0'), every symbol, ties of counts, length 1, the maximum
    length (also of one symbol: every histogram counter at its maximum), under back-pressure on both
    sides."""
    bench = await EncoderBench(dut, seed=1, gap=0.2, drop=0.3).start()
    rng = random.Random(1)
    top = (1 << bench.m) - 1
    cases = [("one symbol", [top] * 40), ("length 1", [0]), ("every symbol", list(range(top + 1)) * 3),
             ("ties", [s for s in range(top + 1) for _ in range(5)]), ("maximum length", random_channel(bench.max_length, bench.m, rng)),
             ("maximum length, one symbol", [top] * bench.max_length)]
    cases += [(f"random {k}", random_channel(rng.randrange(1, min(300, bench.max_length) + 1), bench.m, rng)) for k in range(30)]
    for name, se in cases:
        bench.send(name, se)
    await bench.scoreboard.wait(20 * sum(len(se) for _, se in cases) + 1000)
    await bench.scoreboard.finish(idle_cycles=20)


@cocotb.test()
async def real_shift_errors(dut):
    """The shift errors of real activations (N = 3, every channel important)."""
    bench = await EncoderBench(dut, seed=2, drop=0.2).start()
    import torch

    total = 0
    for path in real_activation_files():
        channels, absmax = load_activations(path)
        x = torch.from_numpy(channels[:, : bench.max_length]).T.contiguous()
        _, se = quantize_layer(x, torch.ones(x.shape[1], dtype=torch.bool), 3, bench.m, absmax)
        for c in range(se.shape[1]):
            bench.send(f"{os.path.basename(path)} channel {c}", se[:, c].tolist())
            total += se.shape[0]
    await bench.scoreboard.wait(20 * total + 1000)
    await bench.scoreboard.finish(idle_cycles=20)


@cocotb.test()
async def cycles_per_channel(dut):
    """Full streams: a channel of L shift errors takes L cycles in and, after the code is built, a
    row of shift errors per cycle out: exactly ``HuffmanEncoder.packet_cycles`` from the first shift
    error to the last word; recorded for the latency figures."""
    bench = await EncoderBench(dut, seed=3).start()
    rng = random.Random(3)
    figures = {}
    for length in (1, 5, 49, 196, min(784, bench.max_length), bench.max_length):
        se = random_channel(length, bench.m, rng)
        start = len(bench.scoreboard.matched)
        bench.send(f"length {length}", se)
        await bench.scoreboard.wait(20 * length + 1000)
        words = bench.scoreboard.matched[start:]
        inputs = [bench.inputs.recv_nowait().cycle for _ in range(bench.inputs.count())]
        assert len(inputs) == length and all(b - a == 1 for a, b in zip(inputs, inputs[1:])), "not one per cycle"
        figures[length] = {"first_input_to_last_word": words[-1].cycle - inputs[0], "words": len(words)}
        lengths = huffman_code_lengths(shift_error_counts(se, bench.m))
        last_row = se[(length - 1) // payload_lanes(bench.m) * payload_lanes(bench.m):]
        want = HuffmanEncoder.packet_cycles(length, len(set(se)), bench.m, bits=sum(lengths[s] for s in se),
                                            last_row_bits=sum(lengths[s] for s in last_row))
        assert words[-1].cycle - inputs[0] == want, (figures[length], want)
    await bench.scoreboard.finish()
    record_figures("throughput", "edqa_huffman_encoder", bench_params(), figures)


@cocotb.test()
async def reset_mid_channel(dut):
    """A reset while a channel's shift errors come in, and one while its packet goes out: nothing of
    the interrupted channel comes out afterwards, and the next channels are exact."""
    bench = await EncoderBench(dut, seed=4, drop=0.5).start()
    rng = random.Random(4)
    length = min(300, bench.max_length)
    bench.send("interrupted while collecting", random_channel(length, bench.m, rng))
    await bench.tb.until(lambda: bench.inputs.count() >= length // 2, 20 * length, "half of the shift errors in")
    await bench.reset()
    bench.send("after the first reset", random_channel(length, bench.m, rng))
    await bench.scoreboard.wait(20 * length + 500)
    bench.send("interrupted while sending", random_channel(length, bench.m, rng))
    await bench.tb.until(lambda: len(bench.scoreboard.pending) <= 3, 80 * length, "part of the payload out")
    await bench.reset()
    for k in range(3):
        bench.send(f"after the second reset {k}", random_channel(rng.randrange(1, length), bench.m, rng))
    await bench.scoreboard.wait(80 * length + 500)
    await bench.scoreboard.finish(idle_cycles=20)
