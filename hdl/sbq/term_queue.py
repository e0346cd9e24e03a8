"""SBQ term queue: the FIFO of compensation term pairs of a compute lane (SBQ paper, sections II-C and III-B)."""

from amaranth.hdl import Module, ResetInserter, Signal, Value
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .term_generator import PairLayout

__all__ = ["TermQueue"]


class TermQueue(wiring.Component):
    """A ``depth``-entry FIFO of :data:`PairLayout` term pairs (``amaranth.lib.fifo.SyncFIFO``).

    Ports (FIFO-interface style, not streams: a push is a one-cycle offer that is dropped when the
    queue is full, which is the SBQ rule "pushed while the queue is not full"):

    * ``w_data`` (in, :data:`PairLayout`), ``w_en`` (in), ``w_rdy`` (out, not full): a push happens
      when ``w_en & w_rdy``.
    * ``r_data`` (out, :data:`PairLayout`, the oldest entry), ``r_rdy`` (out, not empty), ``r_en``
      (in): a pop happens when ``r_en & r_rdy``.
    * ``clear`` (in): synchronous clear; the queue is empty in the next cycle (a push or pop in the
      same cycle is discarded).
    * ``level`` (out): number of entries.

    Latency: an entry pushed in cycle ``t`` can be popped in cycle ``t + 1``. ``w_rdy`` does not look
    at a pop in the same cycle (a full queue refuses a push even while it is popped).
    """

    def __init__(self, *, depth: int = 4):
        self.depth = integer("depth", depth, min=1)
        super().__init__({
            "w_data": In(PairLayout),
            "w_en": In(1),
            "w_rdy": Out(1),
            "r_data": Out(PairLayout),
            "r_en": In(1),
            "r_rdy": Out(1),
            "clear": In(1),
            "level": Out(range(depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        queue = fifo.SyncFIFO(width=PairLayout.size, depth=self.depth)
        m.submodules.fifo = ResetInserter(self.clear)(queue)
        m.d.comb += [
            queue.w_data.eq(Value.cast(self.w_data)),
            queue.w_en.eq(self.w_en),
            self.w_rdy.eq(queue.w_rdy),
            self.r_data.eq(queue.r_data),
            self.r_rdy.eq(queue.r_rdy),
            queue.r_en.eq(self.r_en),
            self.level.eq(queue.level),
        ]
        return m
