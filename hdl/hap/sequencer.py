"""HAP tile sequencer: takes steps, runs their bit cycles, then drains the tile row by row."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import ACT_BITS, check_array

__all__ = ["TileSequencer"]


class TileSequencer(wiring.Component):
    """The control of ``hap_array``: three states, LOAD, FINISH and DRAIN.

    LOAD takes steps. A step of precision ``p >= 1`` is taken when the array is idle or in its last
    bit cycle (``count <= 1``) and loads the array (``load``), which then runs ``p`` bit cycles
    (``step``); a step of precision 0 is taken in any LOAD cycle (it only feeds the zero-point unit).
    Every taken step is added by the zero-point unit (``add``). Taking the step with ``last`` leads
    to FINISH, which waits for the array's last bit cycle (``count <= 1``) and then DRAIN: one output
    row per cycle while ``out_ready``: PE row ``row`` alone, or rows ``row`` and ``row + 1`` combined
    when row ``row + 1`` is the low nibble (``pair``); the transfer of the last row clears the
    accumulators (``clear``) and returns to LOAD. ``golden.hap.cycles`` counts these cycles exactly.

    Parameters: ``rows``, ``cols``, ``acc_bits`` (the array's; checked as there).

    Ports: in ``valid``, ``precision`` (0..8), ``last``, ``low`` (the step's row kinds) of the step
    stream and ``out_ready``; out ``ready``, ``load``, ``add``, ``step``, ``clear``, ``out_valid``,
    ``row``, ``pair`` and ``out_last`` (the tile's last output row).
    """

    def __init__(self, *, rows: int = 8, cols: int = 16, acc_bits: int = 32):
        check_array(rows, cols, acc_bits)
        self.rows = rows
        super().__init__({
            "valid": In(1),
            "precision": In(range(ACT_BITS + 1)),
            "last": In(1),
            "low": In(rows),
            "out_ready": In(1),
            "ready": Out(1),
            "load": Out(1),
            "add": Out(1),
            "step": Out(1),
            "clear": Out(1),
            "out_valid": Out(1),
            "row": Out(range(rows)),
            "pair": Out(1),
            "out_last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(ACT_BITS + 1))  # bit cycles of the loaded step still to run
        low = Signal(self.rows)  # the tile's row kinds, from its steps
        take = Signal()
        m.d.comb += [
            self.step.eq(count != 0),
            take.eq(self.valid & self.ready),
            self.add.eq(take),
            self.load.eq(take & (self.precision != 0)),
        ]
        with m.If(self.load):
            m.d.sync += count.eq(self.precision)
        with m.Elif(count != 0):
            m.d.sync += count.eq(count - 1)
        with m.If(take):
            m.d.sync += low.eq(self.low)

        next_row = self.row + 1
        m.d.comb += [
            self.pair.eq((low >> next_row)[0]),
            self.out_last.eq(next_row + self.pair >= self.rows),
        ]
        with m.FSM(name="phase"):
            with m.State("LOAD"):
                m.d.comb += self.ready.eq((count <= 1) | (self.precision == 0))
                with m.If(take & self.last):
                    m.next = "FINISH"
            with m.State("FINISH"):
                with m.If(count <= 1):
                    m.d.sync += self.row.eq(0)
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += self.out_valid.eq(1)
                with m.If(self.out_ready):
                    m.d.sync += self.row.eq(next_row + self.pair)
                    with m.If(self.out_last):
                        m.d.comb += self.clear.eq(1)
                        m.next = "LOAD"
        return m
