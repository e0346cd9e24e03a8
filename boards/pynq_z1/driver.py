"""The host driver of the eDQA system: numpy in, numpy out, on the board or on a simulated design.

On the PYNQ-Z1::

    from boards.pynq_z1.driver import EdqaDevice
    device = EdqaDevice.on_board("edqa_pynq_z1.bit")        # programs the fabric, FCLK0 = 100 MHz
    q, packet = device.quantize_channel(x, absmax=a, important=True)
    y = device.dequantize_channel(q, packet, absmax=a, important=True)
    q, packets = device.quantize_layer(X, absmax=a, important=mask)   # X: [channels, length]

The driver talks to the hardware through a back end (:class:`Backend`): register reads and writes
at offsets of :mod:`boards.pynq_z1.registers`, and buffers in memory the DMA reaches (physical
address, ``flush`` before the hardware reads, ``invalidate`` before the host reads what it wrote).
:class:`PynqBackend` is pynq's ``MMIO`` and ``allocate``; the tests put a cocotb simulation of the
system behind the same seam (``sim/pynq_z1/backend.py``). This module needs only numpy (and pynq
on the board).
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from . import registers as regs

__all__ = ["Backend", "PynqBackend", "EdqaDevice", "EdqaError", "scales_of"]

#: Where the PS maps M_AXI_GP0, the register file's port.
GP0_BASE = 0x4000_0000
#: The clock the eDQA results assume (FCLK_CLK0).
FCLK_MHZ = 100.0


class EdqaError(RuntimeError):
    """The hardware refused a job or flagged damaged data: ``flags`` names the ``ERRORS`` bits set."""

    def __init__(self, message: str, flags: list[str]):
        super().__init__(message)
        self.flags = flags


class Backend(Protocol):
    def read(self, offset: int) -> int: ...
    def write(self, offset: int, value: int) -> None: ...
    def allocate(self, shape, dtype): ...


class PynqBackend:
    """The board: ``pynq.Bitstream(bitfile).download()`` programs the fabric (the PYNQ image has
    already set up the processing system), FCLK0 is set through ``pynq.Clocks``, the registers are
    an ``MMIO`` window on M_AXI_GP0 and buffers come from ``pynq.allocate`` (contiguous, physical
    addresses)."""

    def __init__(self, bitfile: str, *, fclk_mhz: float = FCLK_MHZ, base: int = GP0_BASE):
        try:
            import pynq
        except ImportError:
            raise RuntimeError("the pynq package is missing: run this on a PYNQ board (pip install pynq)") from None
        pynq.Bitstream(bitfile).download()
        pynq.Clocks.fclk0_mhz = fclk_mhz
        self._allocate = pynq.allocate
        self.mmio = pynq.MMIO(base, 1 << regs.ADDR_WIDTH)

    def read(self, offset: int) -> int:
        return int(self.mmio.read(offset))

    def write(self, offset: int, value: int) -> None:
        self.mmio.write(offset, int(value))

    def allocate(self, shape, dtype):
        return self._allocate(shape=shape, dtype=dtype)


def scales_of(n_bits: int, m_extra: int, absmax: float) -> dict[str, np.float32]:
    """The float32 scales of a layer whose largest magnitude is ``absmax`` (docs/edqa.md):
    ``delta_n = absmax * 2^-(N-1)``, ``delta_nm = delta_n * 2^-m`` and their reciprocals, each a
    float32 operation rounded to nearest even."""
    a = np.float32(absmax)
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"absmax must be a positive finite float32, got {absmax!r}")
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        delta_n = a * np.float32(2.0 ** -(n_bits - 1))
        delta_nm = delta_n * np.float32(2.0 ** -m_extra)
        result = {"delta_n": delta_n, "delta_nm": delta_nm,
                  "inv_n": np.float32(1) / delta_n, "inv_nm": np.float32(1) / delta_nm}
    for name, value in result.items():
        if value == 0 or not np.isfinite(value):
            raise ValueError(f"absmax={absmax!r} gives {name} = {value} in float32")
    return result


def _bits(value: np.float32) -> int:
    return int(np.array(value, dtype=np.float32).view(np.uint32))


class EdqaDevice:
    """The eDQA system behind ``backend``: one channel per job, whole layers as channel loops.

    ``timeout_s``: how long a job may take before :class:`TimeoutError` (a hung design never hangs
    the caller). ``last_cycles``: FCLK0 cycles of the last job, from the hardware's ``CYCLES``.
    """

    def __init__(self, backend: Backend, *, timeout_s: float = 5.0):
        self.backend, self.timeout_s = backend, timeout_s
        magic = backend.read(regs.Id.offset)
        if magic != regs.MAGIC:
            raise RuntimeError(f"no eDQA system at this address (ID reads 0x{magic:08X}, expected 0x{regs.MAGIC:08X})")
        info = regs.Info.decode(backend.read(regs.Info.offset))
        if info["version"] != regs.VERSION:
            raise RuntimeError(f"the bitstream's register map is version {info['version']}, this driver's {regs.VERSION}")
        limits = regs.Limits.decode(backend.read(regs.Limits.offset))
        self.n_bits, self.m_extra = info["n_bits"], info["m_extra"]
        self.max_length, self.max_packet_words = limits["max_length"], limits["max_packet_words"]
        self.last_cycles = 0
        self._floats_in = backend.allocate((self.max_length,), np.float32)
        self._floats_out = backend.allocate((self.max_length,), np.float32)
        self._q = backend.allocate((self.max_length,), np.int8)
        self._packet = backend.allocate((self.max_packet_words,), np.uint32)

    @classmethod
    def on_board(cls, bitfile: str, *, fclk_mhz: float = FCLK_MHZ, timeout_s: float = 5.0) -> "EdqaDevice":
        """Program the fabric with ``bitfile``, set FCLK0 and open the system behind M_AXI_GP0."""
        return cls(PynqBackend(bitfile, fclk_mhz=fclk_mhz), timeout_s=timeout_s)

    # -- one channel -------------------------------------------------------------------------------

    def quantize_channel(self, x, *, absmax: float, important: bool) -> tuple[np.ndarray, np.ndarray]:
        """``q`` (int8, N-bit values) of the float32 channel ``x`` and its packet of shift errors
        (uint32 words; empty for a channel that is not important)."""
        x = self._channel(x, np.float32, "x")
        scale = scales_of(self.n_bits, self.m_extra, absmax)["inv_nm" if important else "inv_n"]
        self._floats_in[: len(x)] = x
        self._floats_in.flush()
        self._run(0, important, len(x), scale, src=self._floats_in, dst=self._q)
        self._q.invalidate()
        q = np.array(self._q[: len(x)])
        words = regs.PacketOut.decode(self.backend.read(regs.PacketOut.offset))["words"]
        if important:
            self._packet.invalidate()
        return q, np.array(self._packet[:words]) if important else np.zeros(0, np.uint32)

    def dequantize_channel(self, q, packet, *, absmax: float, important: bool) -> np.ndarray:
        """The float32 channel of ``q`` and (important channel) its packet."""
        q = self._channel(q, np.int8, "q")
        low, high = -(1 << (self.n_bits - 1)), (1 << (self.n_bits - 1)) - 1
        if q.min() < low or q.max() > high:
            raise ValueError(f"q holds values outside the {self.n_bits}-bit range {low}..{high}")
        scale = scales_of(self.n_bits, self.m_extra, absmax)["delta_nm" if important else "delta_n"]
        self._q[: len(q)] = q
        self._q.flush()
        words = 0
        if important:
            packet = np.asarray(packet, dtype=np.uint32).ravel()
            if not 2 <= len(packet) <= self.max_packet_words:
                raise ValueError(f"a packet has 2..{self.max_packet_words} words, got {len(packet)}")
            self._packet[: len(packet)] = packet
            self._packet.flush()
            words = len(packet)
        self._run(1, important, len(q), scale, src=self._q, dst=self._floats_out, packet_words=words)
        self._floats_out.invalidate()
        return np.array(self._floats_out[: len(q)])

    # -- a layer -----------------------------------------------------------------------------------

    def quantize_layer(self, x, *, absmax: float, important) -> tuple[np.ndarray, list[np.ndarray]]:
        """``x``: [channels, length] float32; ``important``: a bool per channel. Returns ``q``
        [channels, length] int8 and the packet of each channel (empty when not important)."""
        x = np.asarray(x)
        flags = self._important(important, x)
        results = [self.quantize_channel(row, absmax=absmax, important=bool(flag)) for row, flag in zip(x, flags)]
        return np.stack([q for q, _ in results]), [packet for _, packet in results]

    def dequantize_layer(self, q, packets, *, absmax: float, important) -> np.ndarray:
        q = np.asarray(q)
        flags = self._important(important, q)
        if len(packets) != len(q):
            raise ValueError(f"{len(q)} channels but {len(packets)} packets")
        return np.stack([self.dequantize_channel(row, packet, absmax=absmax, important=bool(flag))
                         for row, packet, flag in zip(q, packets, flags)])

    # -- the registers -----------------------------------------------------------------------------

    def errors(self) -> list[str]:
        """The ``ERRORS`` flags now set."""
        return [name for name, value in regs.Errors.decode(self.backend.read(regs.Errors.offset)).items() if value]

    def _channel(self, values, dtype, name: str) -> np.ndarray:
        array = np.asarray(values)
        if array.dtype != dtype:
            raise TypeError(f"{name} must be a {np.dtype(dtype).name} array, got {array.dtype}")
        if array.ndim != 1 or not 1 <= len(array) <= self.max_length:
            raise ValueError(f"{name} must be 1-D with 1..{self.max_length} elements, got shape {array.shape}")
        return array

    def _important(self, important, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2:
            raise ValueError(f"a layer is [channels, length], got shape {x.shape}")
        flags = np.asarray(important, dtype=bool).ravel()
        if len(flags) != len(x):
            raise ValueError(f"{len(x)} channels but {len(flags)} importance flags")
        return flags

    def _run(self, mode: int, important: bool, length: int, scale, *, src, dst, packet_words: int = 0) -> None:
        b = self.backend
        b.write(regs.Control.offset, regs.Control.encode(clear=1, ack=1))
        b.write(regs.Job.offset, regs.Job.encode(mode=mode, important=int(important)))
        b.write(regs.Length.offset, length)
        b.write(regs.Scale.offset, _bits(scale))
        b.write(regs.Src.offset, src.physical_address)
        b.write(regs.Dst.offset, dst.physical_address)
        b.write(regs.Packet.offset, self._packet.physical_address)
        b.write(regs.PacketWords.offset, packet_words)
        b.write(regs.Control.offset, regs.Control.encode(start=1))
        deadline = time.monotonic() + self.timeout_s
        while True:
            status = regs.Status.decode(b.read(regs.Status.offset))
            if not status["busy"] and (status["done"] or status["error"]):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the eDQA job did not finish within {self.timeout_s} s (STATUS {status})")
        self.last_cycles = regs.Cycles.decode(b.read(regs.Cycles.offset))["cycles"]
        flags = self.errors()
        if flags:
            what = "refused the job" if not status["done"] else "flagged the job"
            raise EdqaError(f"the eDQA hardware {what}: {', '.join(flags)}", flags)
