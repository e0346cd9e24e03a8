"""The WAPS processing element and its baseline without WAPS: MAC array, accumulator, requantizer."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .accumulator import Accumulator
from .group_accumulator import GroupAccumulator
from .layouts import beat_layout, cmd_layout, out_layout, sum_bits
from .mac_array import MacArray
from .requantizer import Requantizer

__all__ = ["WapsPE", "MacPE"]


class _PE(wiring.Component):
    """What both PEs share: parameters, ports and the requantizer; ``grouped`` says which."""

    GROUPED = True
    #: Cycles from a job's last beat transfer to its output transfer (no back-pressure).
    LATENCY = 0

    def __init__(self, *, inputs: int = 16, outputs: int = 16, w_bits: int = 4, a_bits: int = 4, n: int = 4,
                 acc_bits: int = 24, mult_bits: int = 16, out_bits: int = 4):
        self.inputs = integer("inputs", inputs, min=1, max=64)
        self.outputs = integer("outputs", outputs, min=1, max=64)
        self.w_bits = integer("w_bits", w_bits, min=2, max=8)
        self.a_bits = integer("a_bits", a_bits, min=1, max=8)
        self.n = integer("n", n, min=1, max=16)
        self.sum_width = sum_bits(inputs, w_bits, a_bits)
        self.acc_bits = integer("acc_bits", acc_bits, min=self.sum_width, max=48)
        self.mult_bits = integer("mult_bits", mult_bits, min=2, max=32)
        self.out_bits = integer("out_bits", out_bits, min=1, max=16)
        super().__init__({
            "beats": In(stream.Signature(beat_layout(inputs, outputs, w_bits, a_bits, self.GROUPED))),
            "cmd": In(stream.Signature(cmd_layout(outputs, acc_bits, mult_bits))),
            "out": Out(stream.Signature(out_layout(outputs, out_bits))),
        })

    def _accumulator(self):
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        m.submodules.array = array = MacArray(inputs=self.inputs, outputs=self.outputs, w_bits=self.w_bits,
                                              a_bits=self.a_bits, grouped=self.GROUPED)
        m.submodules.accumulator = accumulator = self._accumulator()
        m.submodules.requantizer = requantizer = Requantizer(outputs=self.outputs, acc_bits=self.acc_bits,
                                                             mult_bits=self.mult_bits, out_bits=self.out_bits)
        wiring.connect(m, wiring.flipped(self.beats), array.i)
        wiring.connect(m, array.o, accumulator.i)
        wiring.connect(m, accumulator.o, requantizer.total)
        wiring.connect(m, wiring.flipped(self.cmd), requantizer.cmd)
        wiring.connect(m, requantizer.out, wiring.flipped(self.out))
        return m


class WapsPE(_PE):
    """The WAPS PE: ``inputs`` x ``outputs`` products per cycle, group partial sums in D1, the fixed
    shifter and 3-to-1 multiplexer, the scaled total in D2, then requantization.

    Parameters: ``inputs``, ``outputs`` (1..64, default 16 x 16), ``w_bits`` (2..8), ``a_bits``
    (1..8), ``n`` (the scale shift, 1..16), ``acc_bits`` (D1, D2 and ``T``, from the adder-tree
    width to 48; sums beyond it wrap, which the offline layout rules out), ``mult_bits`` (the
    requantization multiplier, 2..32; the bias has ``acc_bits + mult_bits``), ``out_bits`` (1..16).

    Ports (payloads in :mod:`hdl.waps.layouts`):

    * ``beats``: in, stream of grouped beats (``x``, ``w``, ``select``, ``group_end``, ``last``);
      a job is the beats up to ``last``, its groups end at ``group_end`` (``last`` ends one too).
    * ``cmd``: in, stream of commands, one per job (its requantization), taken with the job's totals.
    * ``out``: out, stream of the job's ``outputs`` codes.

    Latency: :attr:`LATENCY` = 5 cycles from a job's last beat to its output (MAC array 1, D1 1,
    scaler and D2 1, requantizer 2). Throughput: one beat per cycle, whatever the groups (a group
    change costs no cycle); a job of ``B`` beats every ``B`` cycles. Back-pressure: when ``out``
    stalls, the pipeline fills and ``beats.ready`` falls.
    """

    GROUPED = True
    LATENCY = 5

    def _accumulator(self):
        return GroupAccumulator(outputs=self.outputs, sum_width=self.sum_width, acc_bits=self.acc_bits, n=self.n)


class MacPE(_PE):
    """The baseline PE without WAPS: the same MAC array and requantizer around one accumulator.

    Parameters and ports as :class:`WapsPE` (``n`` is accepted and unused, so both take the same
    parameters), the beats without ``select`` and ``group_end``.

    Latency: :attr:`LATENCY` = 4 cycles from a job's last beat to its output (MAC array 1, D1 1,
    requantizer 2). Throughput: one beat per cycle. Back-pressure as :class:`WapsPE`.
    """

    GROUPED = False
    LATENCY = 4

    def _accumulator(self):
        return Accumulator(outputs=self.outputs, sum_width=self.sum_width, acc_bits=self.acc_bits)
