"""The shape the eDQA block benches share: a command and a data stream in, a result stream out."""

from sim.harness import bench_params
from sim.streams import Scoreboard, Testbench, random_pauses

__all__ = ["ChannelBench"]


class ChannelBench:
    """A block with streams ``cmd`` and ``data`` in and ``out`` out (``clear`` held low if it has
    one): sources with random gaps (``gap``), a monitor of ``data`` (``inputs``), a sink of ``out``
    with random ready drops (``drop``) and a :class:`~sim.streams.Scoreboard` comparing with
    :meth:`compare`. A subclass gives the payload shapes (:meth:`data_shape`, :meth:`out_shape`).

    The design's parameters are attributes: ``n`` (``n_bits``, when it has one), ``m``, ``max_length``.
    """

    def __init__(self, dut, seed: int, gap: float = 0.0, drop: float = 0.0):
        self.dut, self.seed, self.gap, self.drop = dut, seed, gap, drop
        p = bench_params()
        self.n, self.m, self.max_length = p.get("n_bits"), p["m_extra"], p["max_length"]

    def data_shape(self):
        raise NotImplementedError

    def out_shape(self):
        raise NotImplementedError

    def compare(self, got, want) -> bool:
        raise NotImplementedError

    async def start(self):
        self.tb = tb = Testbench(self.dut)
        await tb.start()
        if hasattr(self.dut, "clear"):
            self.dut.clear.value = 0
        self.cmd = tb.source("cmd", random_pauses(self.gap, self.seed))
        self.data = tb.source("data", random_pauses(self.gap, self.seed + 1))
        self.inputs = tb.monitor("data", self.data_shape())
        self.out = tb.sink("out", self.out_shape(), random_pauses(self.drop, self.seed + 2))
        self.scoreboard = Scoreboard(self.out, compare=self.compare)
        await tb.reset()
        return self

    async def reset(self) -> None:
        """Reset now: the sources forget what they still hold, and what was expected and did not
        come is dropped (it never will); afterwards everything must be exact again."""
        self.cmd.clear()
        self.data.clear()
        await self.tb.reset()
        self.scoreboard.pending.clear()
        self.inputs.clear()
