"""eDQA sub-blocks in Amaranth's simulator against the golden model: the two float32 rounding
datapaths (quantizer, de-quantizer), the code-length builder, the bit packer, and the encoder and
decoder on many channels, under back-pressure. Each runs in seconds; the registered designs are
verified again on Icarus and Verilator by the cocotb benches."""

import random

import numpy as np
import pytest
import torch

from golden.edqa import (
    PacketError, canonical_codes, decode_packet, packet_bits, dequantize_channel, encode_packet, huffman_code_lengths,
    quantize_channel, scales,
)
from hdl.edqa import BitPacker, DeQuantizer, HuffmanDecoder, HuffmanEncoder, Quantizer, TreeBuilder
from hdl.edqa.bit_packer import code_layout
from hdl.edqa.dequantizer import dequantizer_cmd_layout
from hdl.edqa.quantizer import quantized_layout, quantizer_cmd_layout
from sim.edqa.cases import corner_floats, f32, finite_bits, random_channel
from sim.unit import collector, send, simulate

#: Layer absmax values (float32): ordinary, tiny and huge, so that products under- and overflow.
SCALES = [float(np.float32(v)) for v in (1.0, 6.5, 1e-3, 3.0e-38, 1.0e-30, 3.0e30, 3.0e38)]


async def until_count(ctx, out, count, limit=100_000):
    """Wait until ``count`` transfers have been collected into ``out``."""
    for _ in range(limit):
        if len(out) >= count:
            return
        await ctx.tick()
    raise AssertionError(f"{count} transfers expected, {len(out)} came")


async def until_lasts(ctx, out, count, limit=100_000):
    """Wait until ``count`` transfers marked ``last`` have been collected into ``out`` (counted as
    they come: a scan of all of ``out`` every cycle makes a stopped design take hours to fail)."""
    seen, checked = 0, 0
    for _ in range(limit):
        for _, payload in out[checked:]:
            seen += bool(payload.last)
        checked = len(out)
        if seen >= count:
            return
        await ctx.tick()
    raise AssertionError(f"{count} packets expected, {seen} came")


def _quantize_rtl(n, m, channels):
    """``channels``: ``[(inv_bits, important, [x_bits])]`` -> ``[(q, se)]`` from the Quantizer."""
    dut = Quantizer(n_bits=n, m_extra=m, max_length=4096)
    layout = quantizer_cmd_layout(4096)
    out = []

    async def drive(ctx):
        for inv, important, xs in channels:
            await send(ctx, dut.cmd, [layout.const({"length": len(xs), "important": important, "inv": inv})])
            await send(ctx, dut.data, xs, gaps=0.1, seed=len(xs))
        await until_count(ctx, out, sum(len(xs) for _, _, xs in channels))

    simulate(dut, drive, background=[collector(dut.out, out, stalls=0.2)])
    return [(p.q, p.se) for _, p in out]


@pytest.mark.parametrize("n, m", [(3, 3), (2, 1), (4, 2), (8, 3), (5, 3)])
def test_quantizer_datapath(n, m):
    """Every corner case of each scale, and random floats over the whole binary32 range."""
    rng = random.Random(n * 10 + m)
    channels, want = [], []
    for absmax in SCALES:
        try:
            s = scales(n, m, absmax)
        except ValueError:
            continue  # a scale that is zero or infinite in float32: not a valid layer
        for important in (True, False):
            xs = corner_floats(n, m, absmax, important) + [finite_bits(rng) for _ in range(150)]
            near = np.array([rng.uniform(-1.3, 1.3) for _ in range(100)]) * absmax  # around the range ends
            xs += [int(b) for b in near[np.abs(near) < 3.4e38].astype(np.float32).view(np.uint32)]
            channels.append((s.bits("inv_nm" if important else "inv_n"), important, xs))
            x = torch.tensor(np.array(xs, dtype=np.uint32).view(np.float32))
            q, se = quantize_channel(x, n, m, absmax, important)
            want += list(zip(q.tolist(), (se if important else torch.zeros_like(q)).tolist()))
    got = _quantize_rtl(n, m, channels)
    wrong = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert len(got) == len(want) and not wrong, f"{len(wrong)} of {len(want)} differ; first: {wrong[:3]}"


@pytest.mark.parametrize("n, m", [(3, 3), (2, 1), (8, 3)])
def test_dequantizer_datapath(n, m):
    """Every integer of the channel's range times each scale (overflow to infinity, subnormal
    results included) and random scales."""
    rng = random.Random(n + m)
    absmaxes = SCALES + [f32(1), f32(0x00012345)] + [abs(f32(finite_bits(rng))) for _ in range(8)]
    dut = DeQuantizer(n_bits=n, m_extra=m, max_length=4096)
    cmd, element = dequantizer_cmd_layout(4096), quantized_layout(n, m)
    plan, want = [], []
    for absmax in absmaxes:
        try:
            s = scales(n, m, absmax)
        except ValueError:
            continue  # a scale that is zero or infinite in float32: not a valid layer
        for important in (True, False):
            qs = list(range(-(1 << (n - 1)), 1 << (n - 1)))
            items = [(q, e) for q in qs for e in (range(1 << m) if important else [0])]
            plan.append((s.bits("delta_nm" if important else "delta_n"), important, items))
            q = torch.tensor([a for a, _ in items])
            se = torch.tensor([b for _, b in items]) if important else None
            v = dequantize_channel(q, se, n, m, absmax, important)
            want += v.view(torch.int32).numpy().astype(np.uint32).tolist()
    out = []

    async def drive(ctx):
        for scale, important, items in plan:
            await send(ctx, dut.cmd, [cmd.const({"length": len(items), "important": important, "scale": scale})])
            await send(ctx, dut.data, [element.const({"q": a, "se": b, "last": 0}) for a, b in items], gaps=0.05)
        await until_count(ctx, out, len(want))

    simulate(dut, drive, background=[collector(dut.out, out, stalls=0.2)])
    got = [p.value for _, p in out]
    wrong = [(i, hex(g), hex(w)) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert len(got) == len(want) and not wrong, f"{len(wrong)} of {len(want)} differ; first: {wrong[:3]}"


@pytest.mark.parametrize("m", [1, 2, 3])
def test_tree_builder(m):
    """Code lengths equal the golden construction (tie rule included) on random histograms, ties and
    one-symbol cases; ``bits`` is the golden payload size; ``busy`` lasts 2^m + 1 + 3 (u - 1) cycles for u
    occurring symbols."""
    rng = random.Random(m)
    n = 1 << m
    cases = [[rng.choice([0, 1, 2, 3, 7, rng.randrange(4097)]) for _ in range(n)] for _ in range(200)]
    cases += [[5] * n, [0] * n, [1] + [0] * (n - 1), [0] * (n - 1) + [4096], [1, 1] + [2] * (n - 2)]
    dut = TreeBuilder(m_extra=m, max_count=4096 * n)
    got, busy, total = [], [], []

    async def drive(ctx):
        for counts in cases:
            ctx.set(dut.counts, counts)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            cycles = 0
            while ctx.get(dut.busy):
                await ctx.tick()
                cycles += 1
                assert cycles < 1000, f"the build of {counts} does not end"
            got.append([ctx.get(dut.lengths[s]) for s in range(n)])
            busy.append(cycles)
            total.append(ctx.get(dut.bits))

    simulate(dut, drive)
    for counts, lengths, cycles, bits in zip(cases, got, busy, total):
        assert lengths == huffman_code_lengths(counts), counts
        assert bits == packet_bits(counts), counts
        used = sum(1 for c in counts if c)
        assert cycles == n + 1 + 3 * max(used - 1, 0) == TreeBuilder.build_cycles(used, m), (counts, cycles)


def test_bit_packer():
    """Random codes (lengths 1..7) give the golden payload words under back-pressure."""
    rng = random.Random(11)
    dut = BitPacker(max_bits=7)
    layout = code_layout(7)
    packets = []
    for _ in range(40):
        lengths = huffman_code_lengths([rng.randrange(0, 50) for _ in range(8)] if rng.random() < 0.9 else [3] + [0] * 7)
        codes = canonical_codes(lengths)
        symbols = [s for s, length in enumerate(lengths) if length]
        se = [rng.choice(symbols) for _ in range(rng.randrange(1, 200))]
        packets.append((codes, se))
    out = []

    async def drive(ctx):
        for codes, se in packets:
            items = [layout.const({"code": codes[s][0], "length": codes[s][1], "last": k == len(se) - 1})
                     for k, s in enumerate(se)]
            await send(ctx, dut.codes, items, gaps=0.2, seed=len(se))
        await until_lasts(ctx, out, len(packets))

    simulate(dut, drive, background=[collector(dut.words, out, stalls=0.3)])
    words = [(p.word, bool(p.last)) for _, p in out]
    want = []
    for codes, se in packets:  # the codes as a string of bits, cut into 32-bit words, zero-padded
        stream = "".join(format(codes[s][0], f"0{codes[s][1]}b") for s in se)
        stream += "0" * (-len(stream) % 32)
        chunks = [int(stream[i:i + 32], 2) for i in range(0, len(stream), 32)]
        want += [(w, k == len(chunks) - 1) for k, w in enumerate(chunks)]
    assert words == want


def _encode_rtl(m, channels, stalls=0.3):
    dut = HuffmanEncoder(m_extra=m, max_length=4096)
    out = []

    async def drive(ctx):
        for se in channels:
            await send(ctx, dut.cmd, [len(se)])
            await send(ctx, dut.data, se, gaps=0.1)
        await until_lasts(ctx, out, len(channels), limit=4 * sum(map(len, channels)) + 100 * len(channels))

    simulate(dut, drive, background=[collector(dut.out, out, stalls=stalls)])
    packets, current = [], []
    for _, p in out:
        current.append(p.word)
        if p.last:
            packets.append(current)
            current = []
    return packets


@pytest.mark.parametrize("m", [1, 2, 3])
def test_encoder(m):
    """Packets equal the golden ``encode_packet``: random skews, one symbol, every symbol, count
    ties, channel lengths 1 and 4096 (the maximum, also all one symbol: a counter at its maximum)."""
    rng = random.Random(m + 20)
    top = (1 << m) - 1
    channels = [random_channel(rng.choice([1, 2, 31, 32, 33, rng.randrange(1, 300)]), m, rng) for _ in range(40)]
    channels += [[top], [0] * 100, list(range(top + 1)) * 5, [rng.randint(0, top) for _ in range(4096)], [top] * 4096]
    assert _encode_rtl(m, channels) == [encode_packet(se, m) for se in channels]


def _corruptions(packet, rng, m):
    """The packet, and damaged versions of it (each a failure the golden decoder names)."""
    yield packet
    if m >= 2:  # every symbol of length 1: codes that cannot be distinct, in short packets too
        ones = int("1" * (1 << m), 16)
        yield [ones]
        yield [ones, packet[1]]
    yield packet[:-1]
    yield packet + [rng.getrandbits(32)]
    yield packet[:1]
    yield [rng.getrandbits(32)] + packet[1:]
    yield [packet[0], packet[1] + rng.choice([-2, -1, 1, 33])] + packet[2:]
    flipped = list(packet)
    flipped[-1] ^= 1
    yield flipped
    if len(packet) > 2:
        flipped = list(packet)
        flipped[2] ^= 1 << rng.randrange(32)
        yield flipped


@pytest.mark.parametrize("m", [1, 2, 3])
def test_decoder(m):
    """Exactly L shift errors for every packet; the golden symbols when it decodes, else the flag of
    the golden model's first failing check (and never a hang)."""
    rng = random.Random(m + 30)
    cases = []
    for _ in range(12):
        se = random_channel(rng.choice([1, 5, 32, 33, rng.randrange(1, 200)]), m, rng)
        for packet in _corruptions(encode_packet(se, m), rng, m):
            cases.append((len(se), packet))
    dut = HuffmanDecoder(m_extra=m, max_length=4096)
    out, flags = [], []

    async def drive(ctx):
        for length, packet in cases:
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
            await send(ctx, dut.cmd, [length])
            await send(ctx, dut.data, [{"word": w, "last": k == len(packet) - 1} for k, w in enumerate(packet)], gaps=0.2)
            for _ in range(20 * len(packet) + 500):  # the packet drained and the status set
                if ctx.get(dut.cmd.ready):
                    break
                await ctx.tick()
            else:
                raise AssertionError(f"the decoder does not end the packet {packet[:3]}...")
            await ctx.tick()
            status = ctx.get(dut.status)
            flags.append([k for k in ("bad_codebook", "truncated", "overlong", "corrupt") if getattr(status, k)])

    simulate(dut, drive, background=[collector(dut.out, out, stalls=0.2)])
    symbols, current = [], []
    for _, p in out:
        current.append(p.se)
        if p.last:
            symbols.append(current)
            current = []
    assert len(symbols) == len(cases)
    for (length, packet), got, flag in zip(cases, symbols, flags):
        assert len(got) == length
        try:
            want, kinds = decode_packet(packet, length, m), []
        except PacketError as error:
            want, kinds = None, [error.kind.replace(" ", "_")]
        assert flag == kinds, (packet, flag, kinds)
        if want is not None:
            assert got == want
