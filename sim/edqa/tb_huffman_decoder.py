"""cocotb testbench: the eDQA Huffman decoder (``edqa_huffman_decoder``) against ``golden.edqa.decode_packet``."""

import random

import cocotb

from golden.edqa import PacketError, decode_packet, encode_packet
from hdl.edqa.bit_packer import word_layout
from hdl.edqa.huffman_decoder import DECODE_STATUS_LAYOUT, HuffmanDecoder, symbol_layout
from sim.edqa.cases import random_channel
from sim.edqa.bench import ChannelBench
from sim.harness import bench_params, record_figures

FLAGS = ("bad_codebook", "truncated", "overlong", "corrupt")


class DecoderBench(ChannelBench):
    def data_shape(self):
        return word_layout

    def out_shape(self):
        return symbol_layout(self.m)

    def compare(self, got, want):
        """``want``: (shift error, last); the shift error is None where the golden model gives none."""
        return got.last == want[1] and want[0] in (None, got.se)

    def send(self, name, length, packet):
        """One channel: exactly ``length`` shift errors expected, ``last`` on the final one: the golden
        ones, or after a failure 0 where the decoder cannot have decoded anything (a bad codebook,
        no payload word) and any value otherwise (the golden model gives none). Returns the failure
        the golden model names, or None."""
        self.cmd.send_nowait(length)
        for k, word in enumerate(packet):
            self.data.send_nowait(word_layout.const({"word": word, "last": k == len(packet) - 1}))
        try:
            want, failure = decode_packet(packet, length, self.m), None
        except PacketError as error:
            want, failure = None, error.kind.replace(" ", "_")
        nothing_decoded = failure is not None and (failure == "bad_codebook" or len(packet) <= 2)
        for k in range(length):
            se = want[k] if want else (0 if nothing_decoded else None)
            self.scoreboard.expect((se, int(k == length - 1)), label=f"{name} symbol {k}")
        return failure

    def flags(self):
        status = DECODE_STATUS_LAYOUT.from_bits(int(self.dut.status.value))
        return [flag for flag in FLAGS if getattr(status, flag)]


def _damaged(packet, rng, m):
    """``(what, packet)``: the packet and damaged copies, one failure each (or two, for precedence)."""
    yield "intact", packet
    if m >= 2:  # every symbol of length 1: codes that cannot be distinct, also in a short packet
        ones = int("1" * (1 << m), 16)
        yield "Kraft sum above 1, codebook only", [ones]
        yield "Kraft sum above 1, no payload", [ones, packet[1]]
    yield "last word dropped", packet[:-1]
    yield "extra word", packet + [rng.getrandbits(32)]
    yield "codebook only", packet[:1]
    yield "random codebook", [rng.getrandbits(32)] + packet[1:]
    yield "B off", [packet[0], max(0, packet[1] + rng.choice([-3, -1, 1, 40]))] + packet[2:]
    flipped = list(packet)
    flipped[-1] ^= 1
    yield "pad bit set", flipped
    if len(packet) > 2:
        flipped = list(packet)
        flipped[2] ^= 1 << rng.randrange(32)
        yield "payload bit flipped", flipped
        yield "payload bit flipped and word dropped", flipped[:-1]


@cocotb.test()
async def packets_and_failures(dut):
    """Every packet gives exactly L shift errors (the golden ones when it decodes) and, at its end,
    the flag of the golden model's first failing check; the next packet decodes again."""
    bench = await DecoderBench(dut, seed=1, gap=0.2, drop=0.3).start()
    rng = random.Random(1)
    top = (1 << bench.m) - 1
    channels = [[top] * 9, [0], list(range(top + 1)) * 3] + \
        [random_channel(rng.randrange(1, min(200, bench.max_length) + 1), bench.m, rng) for _ in range(10)]
    checked = 0
    for c, se in enumerate(channels):
        for what, packet in _damaged(encode_packet(se, bench.m), rng, bench.m):
            failure = bench.send(f"channel {c} {what}", len(se), packet)
            await bench.scoreboard.wait(50 * len(se) + 500)
            await bench.tb.until(lambda: bench.inputs.count() >= len(packet), 50 * len(packet) + 500,
                                 f"channel {c} {what}: the whole packet read")
            bench.inputs.clear()
            await bench.tb.cycles(4)
            assert bench.flags() == ([failure] if failure else []), f"channel {c} {what}: flags {bench.flags()}, golden {failure}"
            dut.clear.value = 1
            await bench.tb.cycles(1)
            dut.clear.value = 0
            checked += 1
    await bench.scoreboard.finish(idle_cycles=20)
    dut._log.info("%d packets, intact and damaged, as the golden model says", checked)


@cocotb.test()
async def symbol_per_cycle(dut):
    """Full streams: one shift error per cycle after the header words and the code tables, a
    maximum-length channel: exactly ``HuffmanDecoder.channel_cycles`` from the first word."""
    bench = await DecoderBench(dut, seed=2).start()
    rng = random.Random(2)
    se = random_channel(bench.max_length, bench.m, rng)
    bench.send("longest", len(se), encode_packet(se, bench.m))
    await bench.scoreboard.wait(3 * len(se) + 100)
    await bench.scoreboard.finish(idle_cycles=10)
    cycles = [t.cycle for t in bench.scoreboard.matched]
    first_word = bench.inputs.recv_nowait().cycle
    span = cycles[-1] - first_word
    want = HuffmanDecoder.channel_cycles(len(se))
    assert span == want, f"{len(se)} shift errors took {span} cycles from the first packet word, not {want}"
    record_figures("throughput", "edqa_huffman_decoder", bench_params(), {"length": len(se), "first_word_to_last_symbol": span})


@cocotb.test()
async def reset_mid_packet(dut):
    """A reset in the middle of a packet's payload (and one after a failure was raised): nothing of
    it comes out afterwards, the flags are clear, and the next packets decode exactly."""
    bench = await DecoderBench(dut, seed=3, gap=0.1, drop=0.3).start()
    rng = random.Random(3)
    length = min(400, bench.max_length)
    for what in ("intact", "random codebook"):
        se = random_channel(length, bench.m, rng)
        packet = encode_packet(se, bench.m)
        if what != "intact":
            packet = [rng.getrandbits(32)] + packet[1:]
        bench.send(f"interrupted {what}", length, packet)
        await bench.tb.until(lambda: len(bench.scoreboard.pending) <= length // 2, 50 * length,
                             f"{what}: half of the shift errors out")
        await bench.reset()
        assert bench.flags() == [], f"flags {bench.flags()} after the reset"
        for k in range(2):
            bench.send(f"after reset {what} {k}", length, encode_packet(random_channel(length, bench.m, rng), bench.m))
        await bench.scoreboard.wait(60 * length + 500)
        assert bench.flags() == []
    await bench.scoreboard.finish(idle_cycles=20)
