"""cocotb testbench: the PYNQ-Z1 eDQA system (``edqa_pynq_z1_system``) driven by the host driver
itself (:class:`boards.pynq_z1.driver.EdqaDevice`) through the simulated back end, DDR an AXI RAM
with random stalls on all five channels. Every ``q``, packet word and float is compared with the
golden model, bit for bit."""

import os
import random

import cocotb
import numpy as np
import torch
from cocotb.task import bridge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from boards.pynq_z1 import registers as regs
from boards.pynq_z1.driver import EdqaDevice, EdqaError, scales_of
from golden.edqa import dequantize_channel, encode_packet, quantize_channel
from hdl.edqa.core import EdqaCore
from sim.edqa.cases import core_quantize_cycles, load_activations, real_activation_files
from sim.harness import bench_params, record_figures
from sim.pynq_z1.backend import AxiResponseError, SimBackend
from sim.streams import Testbench, random_pauses

#: The channel sizes of the paper's latency table (ResNet-18 layers).
SIZES = (49, 196, 784, 3136)
SLVERR = 2


class SystemBench:
    """The system with its AXI-Lite master and AXI RAM; ``stall``: the pause probability of every
    RAM channel."""

    def __init__(self, dut, *, stall: float, seed: int):
        self.dut, self.stall, self.seed = dut, stall, seed
        p = bench_params()
        self.n, self.m, self.max_length = p["n_bits"], p["m_extra"], p["max_length"]

    async def start(self):
        self.tb = Testbench(self.dut)
        await self.tb.start()
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(self.dut, "s_axil_"), self.dut.clk, self.dut.rst)
        self.ram = AxiRam(AxiBus.from_prefix(self.dut, "m_axi_"), self.dut.clk, self.dut.rst, size=1 << 22)
        if self.stall:
            channels = (self.ram.write_if.aw_channel, self.ram.write_if.w_channel, self.ram.write_if.b_channel,
                        self.ram.read_if.ar_channel, self.ram.read_if.r_channel)
            for k, channel in enumerate(channels):
                channel.set_pause_generator(random_pauses(self.stall, self.seed + k))
        await self.tb.reset()
        self.backend = SimBackend(self.axil, self.ram, seed=self.seed)
        self.violations = []
        cocotb.start_soon(self._check_bursts())
        self.poisoned = None  # (start, end): DDR addresses that answer SLVERR
        for port, name in ((self.ram.read_if, "_read"), (self.ram.write_if, "_write")):
            setattr(port, name, self._poisonable(getattr(port, name)))
        return self

    def _poisonable(self, access):
        async def checked(address, *args):
            if self.poisoned and self.poisoned[0] <= address < self.poisoned[1]:
                raise OSError("poisoned")  # cocotbext-axi answers SLVERR
            return await access(address, *args)
        return checked

    async def _check_bursts(self):
        """Every burst the DMA asks for: INCR of 8-byte beats, at most 16 (AXI3), within one 4 KiB page."""
        from cocotb.triggers import RisingEdge

        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            for kind in ("ar", "aw"):
                if int(getattr(dut, f"m_axi__{kind}valid").value) and int(getattr(dut, f"m_axi__{kind}ready").value):
                    address = int(getattr(dut, f"m_axi__{kind}addr").value)
                    beats = int(getattr(dut, f"m_axi__{kind}len").value) + 1
                    size, burst = int(getattr(dut, f"m_axi__{kind}size").value), int(getattr(dut, f"m_axi__{kind}burst").value)
                    if beats > 16 or address % 8 or (address % 4096) + 8 * beats > 4096 or size != 3 or burst != 1:
                        self.violations.append(f"{kind}: address 0x{address:X}, {beats} beats, size {size}, burst {burst}")

    def check_bursts(self):
        assert not self.violations, f"illegal bursts: {self.violations[:5]}"

    def device(self) -> EdqaDevice:
        """Called in the bridge thread: the driver opens the simulated system as it opens the board."""
        return EdqaDevice(self.backend, timeout_s=120)  # a design that stops fails in minutes (a job takes seconds)

    def golden(self, x: np.ndarray, absmax: float, important: bool):
        q, se = quantize_channel(torch.from_numpy(x.copy()), self.n, self.m, absmax, important)
        values = dequantize_channel(q, se, self.n, self.m, absmax, important)
        packet = encode_packet(se.tolist(), self.m) if important else []
        return q.numpy().astype(np.int8), np.array(packet, dtype=np.uint32), values.numpy()

    def _snapshot(self, device: EdqaDevice) -> dict:
        buffers = (device._floats_in, device._floats_out, device._q, device._packet)
        return {b.physical_address: self.ram.read(b.physical_address, b.nbytes) for b in buffers}

    def _only_written(self, before: dict, after: dict, allowed: dict, name: str) -> None:
        """DDR changed only where the job writes: ``allowed`` maps a buffer's address to the bytes at
        its start the job may write (byte strobes and burst ends must not spill)."""
        for address, old in before.items():
            keep = allowed.get(address, 0)
            assert after[address][keep:] == old[keep:], f"{name}: DDR changed past what the job writes at 0x{address:X}"

    def round_trip(self, device: EdqaDevice, name: str, x: np.ndarray, absmax: float, important: bool):
        """Quantize and de-quantize ``x`` on the hardware; every result equal to the golden one, and
        nothing in DDR written but the results."""
        want_q, want_packet, want_values = self.golden(x, absmax, important)
        before = self._snapshot(device)
        q, packet = device.quantize_channel(x, absmax=absmax, important=important)
        quantize_cycles = device.last_cycles
        assert np.array_equal(q, want_q), f"{name}: q differs at {np.flatnonzero(q != want_q)[:8]}"
        assert np.array_equal(packet, want_packet), f"{name}: packet differs ({len(packet)} vs {len(want_packet)} words)"
        # The input buffers the driver flushes change as a whole (its writes, not the hardware's).
        self._only_written(before, self._snapshot(device), {device._q.physical_address: len(x),
                                                           device._packet.physical_address: 4 * len(packet),
                                                           device._floats_in.physical_address: device._floats_in.nbytes}, name)
        before = self._snapshot(device)
        values = device.dequantize_channel(q, packet, absmax=absmax, important=important)
        got, want = values.view(np.uint32), want_values.view(np.uint32)
        assert np.array_equal(got, want), f"{name}: floats differ at {np.flatnonzero(got != want)[:8]}"
        self._only_written(before, self._snapshot(device), {device._floats_out.physical_address: 4 * len(x),
                                                           device._q.physical_address: device._q.nbytes,
                                                           device._packet.physical_address: device._packet.nbytes}, name)
        return quantize_cycles, device.last_cycles


def _real_channels(count_per_file: int):
    for path in real_activation_files():
        channels, absmax = load_activations(path)
        for c in range(min(count_per_file, len(channels))):
            yield f"{os.path.basename(path)} channel {c}", np.ascontiguousarray(channels[c], dtype=np.float32), absmax, c % 2 == 0


@cocotb.test()
async def real_channels_through_the_driver(dut):
    """Real activations of both networks through the driver, both directions, with every RAM
    channel stalling a third of the time, channel by channel and as a layer: q, packets and floats
    exact."""
    bench = await SystemBench(dut, stall=0.3, seed=1).start()

    def run():
        device = bench.device()
        assert (device.n_bits, device.m_extra, device.max_length) == (bench.n, bench.m, bench.max_length)
        for name, x, absmax, important in _real_channels(4):
            bench.round_trip(device, name, x[: bench.max_length], absmax, important)
        # A layer through the layer helpers: [channels, length], every third channel important.
        channels, absmax = load_activations(real_activation_files()[1])
        layer = np.ascontiguousarray(channels[:6, :200], dtype=np.float32)
        important = np.arange(len(layer)) % 3 == 0
        q, packets = device.quantize_layer(layer, absmax=absmax, important=important)
        values = device.dequantize_layer(q, packets, absmax=absmax, important=important)
        for c in range(len(layer)):
            want_q, want_packet, want_values = bench.golden(layer[c], absmax, bool(important[c]))
            assert np.array_equal(q[c], want_q) and np.array_equal(packets[c], want_packet), f"layer channel {c}"
            assert np.array_equal(values[c].view(np.uint32), want_values.view(np.uint32)), f"layer channel {c}"

    await bridge(run)()
    bench.check_bursts()


@cocotb.test()
async def end_to_end_latency(dut):
    """The paper's channel sizes, important channels of real activations repeated to length, DDR
    without stalls: cycles from start to done (CYCLES), DMA included, recorded beside the core's own
    cycles and bounded: the DMA adds a fixed handful of cycles and, for de-quantization, the reading
    of the packet before the q (one word a cycle)."""
    bench = await SystemBench(dut, stall=0.0, seed=2).start()
    figures = {}

    def run():
        device = bench.device()
        path = real_activation_files()[0]
        channels, absmax = load_activations(path)
        source = np.ascontiguousarray(channels.ravel(), dtype=np.float32)
        for size in SIZES:
            if size > bench.max_length:
                continue
            x = np.resize(source, size)
            quantize, dequantize = bench.round_trip(device, f"size {size}", x, absmax, True)
            _, packet = device.quantize_channel(x, absmax=absmax, important=True)
            _, se = quantize_channel(torch.from_numpy(x.copy()), bench.n, bench.m, absmax, True)
            core_quantize = core_quantize_cycles(se.tolist(), bench.m)
            core_dequantize = EdqaCore.dequantize_cycles(size)
            figures[str(size)] = {"quantize": quantize, "dequantize": dequantize, "packet_words": len(packet),
                                  "core_quantize": core_quantize, "core_dequantize": core_dequantize}
            dut._log.info("size %d: %s", size, figures[str(size)])
            # The DMA's share: a fixed start and tail, and for de-quantization the packet, one word a cycle.
            assert core_quantize < quantize <= core_quantize + 32, figures[str(size)]
            assert core_dequantize + len(packet) < dequantize <= core_dequantize + len(packet) + 32, figures[str(size)]

    await bridge(run)()
    bench.check_bursts()
    record_figures("end_to_end", "edqa_pynq_z1_system", bench_params(), {"end_to_end_cycles": figures})


@cocotb.test()
async def registers_refuse_what_they_must(dut):
    """Illegal offsets and writes to read-only registers answer SLVERR; the ID, INFO and LIMITS
    registers read their values; writes while busy are refused and flagged; a start with a bad
    length, scale, alignment or packet size is refused with its flag, which the driver raises."""
    bench = await SystemBench(dut, stall=0.0, seed=3).start()
    axil = bench.axil
    for offset in (0x3C, 0x40, 0xFC):
        assert (await axil.read(offset, 4)).resp == SLVERR, offset
        assert (await axil.write(offset, b"\0\0\0\0")).resp == SLVERR, offset
    for register in regs.REGISTERS:
        if register.access == "ro":
            assert (await axil.write(register.offset, b"\1\0\0\0")).resp == SLVERR, register.name
    # Byte strobes: a one-byte write changes that byte only; bits outside the fields read 0.
    await axil.write(regs.Src.offset, (0x12345678).to_bytes(4, "little"))
    await axil.write(regs.Src.offset + 2, b"\xAB")
    assert int.from_bytes((await axil.read(regs.Src.offset, 4)).data, "little") == 0x12AB5678
    await axil.write(regs.Job.offset, (0xFFFFFFFF).to_bytes(4, "little"))
    assert int.from_bytes((await axil.read(regs.Job.offset, 4)).data, "little") == 0b11

    def run():
        device = bench.device()
        b = bench.backend
        assert b.read(regs.Id.offset) == regs.MAGIC

        def refused(flag, **job):
            setup = {"mode": 0, "important": 1, "length": 16, "scale": 0x3F800000, "src": 0x1000, "dst": 0x2000,
                     "packet": 0x3000, "words": 4, **job}
            b.write(regs.Control.offset, regs.Control.encode(clear=1, ack=1))
            b.write(regs.Job.offset, regs.Job.encode(mode=setup["mode"], important=setup["important"]))
            b.write(regs.Length.offset, setup["length"])
            b.write(regs.Scale.offset, setup["scale"])
            b.write(regs.Src.offset, setup["src"])
            b.write(regs.Dst.offset, setup["dst"])
            b.write(regs.Packet.offset, setup["packet"])
            b.write(regs.PacketWords.offset, setup["words"])
            b.write(regs.Control.offset, regs.Control.encode(start=1))
            status = regs.Status.decode(b.read(regs.Status.offset))
            assert status == {"busy": 0, "done": 0, "error": 1}, (flag, status)
            assert device.errors() == [flag], (flag, device.errors())

        refused("bad_length", length=0)
        refused("bad_length", length=bench.max_length + 1)
        for scale in (0, 0x80000000, 0xBF800000, 0x7F800000, 0x7FC00000):
            refused("bad_scale", scale=scale)
        refused("misaligned", src=0x1004)
        refused("misaligned", dst=0x2001)
        refused("misaligned", packet=0x3004)
        refused("bad_packet_words", mode=1, words=1)
        refused("bad_packet_words", mode=1, words=device.max_packet_words + 1)

        # A long job, then writes while it runs: refused (SLVERR) and flagged; the job still exact.
        x = np.linspace(-1, 1, bench.max_length, dtype=np.float32)
        device._floats_in[:] = x
        device._floats_in.flush()
        b.write(regs.Control.offset, regs.Control.encode(clear=1, ack=1))
        b.write(regs.Job.offset, regs.Job.encode(mode=0, important=1))
        b.write(regs.Length.offset, bench.max_length)
        b.write(regs.Scale.offset, int(scales_of(bench.n, bench.m, 1.0)["inv_nm"].view(np.uint32)))
        b.write(regs.Src.offset, device._floats_in.physical_address)
        b.write(regs.Dst.offset, device._q.physical_address)
        b.write(regs.Packet.offset, device._packet.physical_address)
        b.write(regs.Control.offset, regs.Control.encode(start=1))
        for register, value in ((regs.Length, 5), (regs.Src, 0), (regs.Control, regs.Control.encode(start=1))):
            try:
                b.write(register.offset, value)
            except AxiResponseError:
                pass
            else:
                raise AssertionError(f"a write to {register.name} while busy was taken")
        assert regs.Status.decode(b.read(regs.Status.offset))["busy"] == 1
        assert b.read(regs.Length.offset) == bench.max_length
        for _ in range(2000):  # a register read takes a few cycles; the job about L + 200
            if not regs.Status.decode(b.read(regs.Status.offset))["busy"]:
                break
        else:
            raise AssertionError("the job did not end")
        assert device.errors() == ["busy_write"]
        device._q.invalidate()
        want_q, _, _ = bench.golden(x, 1.0, True)
        assert np.array_equal(np.array(device._q[: len(x)]), want_q)

        # The driver turns flags into exceptions: a NaN in the input, a damaged packet.
        bad = x[:64].copy()
        bad[5] = np.nan
        try:
            device.quantize_channel(bad, absmax=1.0, important=True)
        except EdqaError as error:
            assert error.flags == ["nonfinite"], error.flags
        else:
            raise AssertionError("a NaN input was not flagged")
        q, packet = device.quantize_channel(x[:64], absmax=1.0, important=True)
        for damage, flag in ((lambda p: p[:-1] if len(p) > 3 else p[:2], None), (lambda p: np.append(p, 7), "overlong")):
            try:
                device.dequantize_channel(q, damage(packet.copy()), absmax=1.0, important=True)
            except EdqaError as error:
                assert flag is None or flag in error.flags, error.flags
            else:
                raise AssertionError("a damaged packet was not flagged")
        # DDR answering SLVERR: the job ends, flagged.
        for buffer, flag in ((device._floats_in, "read_error"), (device._q, "write_error")):
            bench.poisoned = (buffer.physical_address, buffer.physical_address + buffer.nbytes)
            try:
                device.quantize_channel(x[:200], absmax=1.0, important=False)
            except EdqaError as error:
                assert error.flags == [flag], error.flags
            else:
                raise AssertionError(f"{flag} was not flagged")
            bench.poisoned = None
        # And the next job runs clean.
        bench.round_trip(device, "after errors", x[:100], 1.0, True)

    await bridge(run)()
    bench.check_bursts()


@cocotb.test()
async def soak(dut):
    """Many channels back to back through the driver, random length, importance, absmax and data
    (real values and random ones), stalls on every RAM channel: nothing lost or mismatched."""
    bench = await SystemBench(dut, stall=0.25, seed=4).start()
    rng = random.Random(int(os.environ.get("QACCEL_SOAK_SEED", "4")))
    count = int(os.environ.get("QACCEL_SOAK_CHANNELS", "40"))
    real = np.concatenate([load_activations(p)[0].ravel() for p in real_activation_files()]).astype(np.float32)

    def run():
        device = bench.device()
        for k in range(count):
            length = rng.choice([1, 2, 7, 8, 9, 63, 64, 65, rng.randint(1, min(600, bench.max_length))])
            important = rng.random() < 0.6
            if rng.random() < 0.5:
                start = rng.randrange(0, len(real) - length)
                x = real[start:start + length].copy()
                absmax = float(np.abs(x).max()) or 1.0  # a float32 value
            else:
                absmax = float(np.float32(10 ** rng.uniform(-3, 3)))
                x = np.array([rng.uniform(-1.2, 1.2) * absmax for _ in range(length)], dtype=np.float32)
            bench.round_trip(device, f"soak {k} (L={length}, important={important})", x, absmax, important)

    await bridge(run)()
    bench.check_bursts()
