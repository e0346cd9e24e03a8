"""The driver's back end in simulation: the registers through cocotbext-axi's ``AxiLiteMaster``,
DDR as its ``AxiRam``, buffers placed in that RAM.

The driver is ordinary blocking code; a cocotb test runs it in a bridge thread
(``cocotb.task.bridge``) and every register access here resumes the simulation until the AXI-Lite
transaction ends (``cocotb.task.resume``), so the driver's code is the one that runs on the board.
Buffers behave like pynq's: the hardware sees what the host wrote only after ``flush`` and the host
sees what the hardware wrote only after ``invalidate``, so a driver that forgets either fails here.
"""

from __future__ import annotations

import random

import numpy as np
from cocotb.task import resume

__all__ = ["SimBackend", "SimBuffer", "AxiResponseError"]


class AxiResponseError(OSError):
    """A register access answered SLVERR or DECERR (on the board: a bus error)."""


class SimBuffer(np.ndarray):
    """A host array with the ``physical_address`` of its copy in the simulated DDR."""

    def __new__(cls, shape, dtype, ram, address):
        array = np.zeros(shape, dtype).view(cls)
        array.ram, array.physical_address = ram, address
        return array

    def __array_finalize__(self, obj):
        self.ram = getattr(obj, "ram", None)
        self.physical_address = getattr(obj, "physical_address", None)

    def flush(self) -> None:
        self.ram.write(self.physical_address, np.asarray(self).tobytes())

    def invalidate(self) -> None:
        np.asarray(self)[...] = np.frombuffer(self.ram.read(self.physical_address, self.nbytes), self.dtype).reshape(self.shape)


class SimBackend:
    """``read``/``write`` of registers and ``allocate`` of buffers on the simulated system.

    Buffers are placed at 8-byte aligned addresses with random gaps (``seed``), so that their
    bursts meet 4 KiB boundaries anywhere; ``accesses`` counts register reads and writes."""

    def __init__(self, axil, ram, *, seed: int = 0, base: int = 0x1000):
        self.axil, self.ram = axil, ram
        self._next, self._rng = base, random.Random(seed)
        self.accesses = 0

    def read(self, offset: int) -> int:
        return resume(self._read)(offset)

    def write(self, offset: int, value: int) -> None:
        resume(self._write)(offset, value)

    async def _read(self, offset: int) -> int:
        self.accesses += 1
        response = await self.axil.read(offset, 4)
        if int(response.resp) != 0:
            raise AxiResponseError(f"register read at 0x{offset:02X} answered {response.resp!r}")
        return int.from_bytes(response.data, "little")

    async def _write(self, offset: int, value: int) -> None:
        self.accesses += 1
        response = await self.axil.write(offset, int(value).to_bytes(4, "little"))
        if int(response.resp) != 0:
            raise AxiResponseError(f"register write at 0x{offset:02X} answered {response.resp!r}")

    def allocate(self, shape, dtype) -> SimBuffer:
        address = self._next + 8 * self._rng.randrange(0, 512)
        buffer = SimBuffer(shape, dtype, self.ram, address)
        self._next = address + ((buffer.nbytes + 7) & ~7)
        # DDR starts as garbage: what the hardware should have written and did not shows.
        self.ram.write(address, self._rng.randbytes(buffer.nbytes))
        return buffer
