"""cocotb testbench: the eDQA core (``edqa``): quantize -> encode -> decode -> de-quantize, each output
bit-exact against the golden model, and the latency of both directions measured and bounded."""

import os
import random

import cocotb
import numpy as np
import torch

from golden.edqa import dequantize_channel, encode_packet, quantize_channel, scales
from hdl.edqa.bit_packer import word_layout
from hdl.edqa.core import CORE_STATUS_LAYOUT, EdqaCore, q_layout
from hdl.edqa.dequantizer import dequantizer_cmd_layout, value_layout
from hdl.edqa.quantizer import quantizer_cmd_layout
from sim.edqa.cases import bits, core_quantize_cycles, load_activations, real_activation_files
from sim.harness import bench_params, record_figures
from sim.streams import Scoreboard, Testbench, random_pauses

#: The channel sizes of the paper's latency table (ResNet-18 layers).
SIZES = (49, 196, 784, 3136)


class CoreBench:
    def __init__(self, dut, seed, gap=0.0, drop=0.0):
        self.dut, self.seed, self.gap, self.drop = dut, seed, gap, drop
        p = bench_params()
        self.n, self.m, self.max_length = p["n_bits"], p["m_extra"], p["max_length"]

    async def start(self):
        self.tb = tb = Testbench(self.dut)
        await tb.start()
        self.dut.clear.value = 0
        pauses = lambda k: random_pauses(self.gap, self.seed + k)  # noqa: E731
        self.q_cmd, self.q_data = tb.source("q_cmd", pauses(0)), tb.source("q_data", pauses(1))
        self.d_cmd, self.q_in, self.packet_in = tb.source("d_cmd", pauses(2)), tb.source("q_in", pauses(3)), tb.source("packet_in", pauses(4))
        self.q_data_seen = tb.monitor("q_data", 32)
        self.q_cmd_seen = tb.monitor("q_cmd", quantizer_cmd_layout(self.max_length))
        self.d_cmd_seen = tb.monitor("d_cmd", dequantizer_cmd_layout(self.max_length))
        drops = lambda k: random_pauses(self.drop, self.seed + 10 + k)  # noqa: E731
        self.q_out = tb.sink("q_out", q_layout(self.n), drops(0))
        self.packet_out = tb.sink("packet_out", word_layout, drops(1))
        self.d_out = tb.sink("d_out", value_layout, drops(2))
        self.q_board = Scoreboard(self.q_out, compare=lambda got, want: (got.q, got.last) == want)
        self.packet_board = Scoreboard(self.packet_out, compare=lambda got, want: (got.word, got.last) == want)
        self.d_board = Scoreboard(self.d_out, compare=lambda got, want: (got.value, got.last) == want)
        await tb.reset()
        return self

    def golden(self, x_bits, absmax, important):
        x = torch.tensor(np.array(x_bits, dtype=np.uint32).view(np.float32))
        q, se = quantize_channel(x, self.n, self.m, absmax, important)
        values = dequantize_channel(q, se, self.n, self.m, absmax, important)
        packet = encode_packet(se.tolist(), self.m) if important else []
        return q.tolist(), packet, values.view(torch.int32).numpy().astype(np.uint32).tolist()

    def quantize(self, name, x_bits, absmax, important):
        """Channel in on the quantization side; its golden q and packet expected."""
        s = scales(self.n, self.m, absmax)
        cmd = quantizer_cmd_layout(self.max_length).const(
            {"length": len(x_bits), "important": important, "inv": s.bits("inv_nm" if important else "inv_n")})
        self.q_cmd.send_nowait(cmd)
        for word in x_bits:
            self.q_data.send_nowait(word)
        q, packet, _ = self.golden(x_bits, absmax, important)
        for k, value in enumerate(q):
            self.q_board.expect((value, int(k == len(q) - 1)), label=f"{name} q {k}")
        for k, word in enumerate(packet):
            self.packet_board.expect((word, int(k == len(packet) - 1)), label=f"{name} packet word {k}")

    def dequantize(self, name, x_bits, absmax, important, packet=None):
        """The golden q and packet of the channel in on the de-quantization side; its golden floats
        expected (``packet`` replaces the golden one: then the values are not checked)."""
        s = scales(self.n, self.m, absmax)
        q, golden_packet, values = self.golden(x_bits, absmax, important)
        cmd = dequantizer_cmd_layout(self.max_length).const(
            {"length": len(q), "important": important, "scale": s.bits("delta_nm" if important else "delta_n")})
        self.d_cmd.send_nowait(cmd)
        for value in q:
            self.q_in.send_nowait(q_layout(self.n).const({"q": value, "last": 0}))
        for k, word in enumerate(golden_packet if packet is None else packet):
            self.packet_in.send_nowait(word_layout.const({"word": word, "last": k == len(golden_packet if packet is None else packet) - 1}))
        for k, value in enumerate(values):
            self.d_board.expect((None if packet is not None else value, int(k == len(values) - 1)), label=f"{name} value {k}")

    def status(self):
        return CORE_STATUS_LAYOUT.from_bits(int(self.dut.status.value))

    async def round_trips(self, channels, length: int) -> int:
        """Each ``(name, x_bits, absmax, important)`` of ``channels``, cut to ``length``, through both
        directions; waits for every result, checks the flags are clear; returns the element count."""
        total = 0
        for name, x_bits, absmax, important in channels:
            x_bits = x_bits[:length]
            self.quantize(name, x_bits, absmax, important)
            self.dequantize(name, x_bits, absmax, important)
            total += len(x_bits)
        for board in (self.q_board, self.packet_board, self.d_board):
            await board.wait(40 * total + 1000)
        await self.finish()
        assert self.status().as_value().value == 0, self.status()
        return total

    async def finish(self):
        for board in (self.q_board, self.packet_board, self.d_board):
            await board.finish(idle_cycles=5)


def _compare_any(got, want):
    """``want``: (float32 bits or None for any value, last)."""
    return got.last == want[1] and want[0] in (None, got.value)


def _channels():
    for path in real_activation_files():
        channels, absmax = load_activations(path)
        for c, channel in enumerate(channels):
            yield f"{os.path.basename(path)} channel {c}", [int(w) for w in channel.view(np.uint32)], absmax, c % 2 == 0


@cocotb.test()
async def real_round_trip(dut):
    """Real activations of both networks (every other channel important) through both directions at
    once, under back-pressure on every stream: q, packets and de-quantized floats all exact."""
    bench = await CoreBench(dut, seed=1, gap=0.2, drop=0.3).start()
    total = await bench.round_trips(_channels(), bench.max_length)
    dut._log.info("%d real activations: q, packets and de-quantized floats exact", total)


@cocotb.test()
async def damaged_packet(dut):
    """A truncated packet on the de-quantization side raises ``truncated``, still gives all L values,
    and the next channel is exact again."""
    bench = await CoreBench(dut, seed=2).start()
    bench.d_board.compare = _compare_any
    rng = random.Random(2)
    x = [bits(rng.uniform(-1, 1)) for _ in range(100)]
    _, packet, _ = bench.golden(x, 1.0, True)
    bench.dequantize("damaged", x, 1.0, True, packet=packet[:-1])
    await bench.d_board.wait(2000)
    assert bench.status().truncated == 1, bench.status()
    bench.dequantize("after", x, 1.0, True)
    await bench.d_board.wait(2000)
    await bench.finish()


@cocotb.test()
async def latency(dut):
    """Full streams, one channel at a time, important: cycles from a channel's command to its last q
    and packet word (quantize + encode), and to its last float (decode + de-quantize), for the
    paper's channel sizes: exactly ``EdqaCore.quantize_cycles`` and ``EdqaCore.dequantize_cycles``."""
    bench = await CoreBench(dut, seed=3).start()
    rng = random.Random(3)
    figures = {}
    for size in (s for s in SIZES if s <= bench.max_length):
        x = [bits(rng.gauss(0, 0.3)) for _ in range(size)]
        q_done, p_done = len(bench.q_board.matched), len(bench.packet_board.matched)
        bench.q_cmd_seen.clear()
        bench.d_cmd_seen.clear()
        bench.quantize(f"size {size}", x, 1.0, True)
        await bench.q_board.wait(10 * size + 1000)
        await bench.packet_board.wait(10 * size + 1000)
        start = bench.q_cmd_seen.recv_nowait().cycle  # the cycle the command is taken
        quant = max(bench.q_board.matched[-1].cycle, bench.packet_board.matched[-1].cycle) - start
        bench.dequantize(f"size {size}", x, 1.0, True)
        await bench.d_board.wait(10 * size + 1000)
        dequant = bench.d_board.matched[-1].cycle - bench.d_cmd_seen.recv_nowait().cycle
        figures[str(size)] = {"quant": quant, "dequant": dequant,
                              "packet_words": len(bench.packet_board.matched) - p_done,
                              "q": len(bench.q_board.matched) - q_done}
        dut._log.info("size %d: quantize + encode %d cycles, decode + de-quantize %d cycles", size, quant, dequant)
        q, se = quantize_channel(torch.tensor(np.array(x, dtype=np.uint32).view(np.float32)), bench.n, bench.m, 1.0, True)
        want_quant = core_quantize_cycles(se.tolist(), bench.m)
        want_dequant = EdqaCore.dequantize_cycles(size)
        assert (quant, dequant) == (want_quant, want_dequant), (figures[str(size)], want_quant, want_dequant)
    await bench.finish()
    record_figures("latency", "edqa", bench_params(), {"latency_cycles": figures})


@cocotb.test()
async def reset_mid_channel(dut):
    """A reset while both directions are in the middle of a channel: nothing of them comes out
    afterwards, the flags are clear, and the next round trips (real activations) are exact."""
    bench = await CoreBench(dut, seed=4, gap=0.1, drop=0.2).start()
    rng = random.Random(4)
    x = [bits(rng.gauss(0, 0.4)) for _ in range(600)]
    bench.quantize("interrupted", x, 1.0, True)
    bench.dequantize("interrupted", x, 1.0, True)
    await bench.tb.until(lambda: len(bench.q_board.matched) >= 200 and len(bench.d_board.matched) >= 200, 20_000,
                         "200 results out in both directions")
    for source in (bench.q_cmd, bench.q_data, bench.d_cmd, bench.q_in, bench.packet_in):
        source.clear()
    await bench.tb.reset()
    for board in (bench.q_board, bench.packet_board, bench.d_board):
        board.pending.clear()
    assert bench.status().as_value().value == 0, bench.status()
    await bench.round_trips(list(_channels())[:6], 300)
