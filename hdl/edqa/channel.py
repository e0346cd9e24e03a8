"""What the quantizer and the de-quantizer share: the channel a command opens (its element count,
importance and float32 scale) and a pipeline that stalls as a whole."""

from amaranth.hdl import Module, Signal, signed

from .float32 import leading_zeros, unpack

__all__ = ["channel_counter", "ChannelCommand", "StallPipeline"]


def channel_counter(m: Module, max_length: int, *, load, length, take):
    """Counts down the elements of a channel: ``load`` (a command is taken) sets the count to
    ``length``; ``take`` (an element is taken) lowers it by one.

    Returns ``(empty, one)``: registers, 1 when no element is left, and when exactly one is left
    (the next element is the channel's last). A compare of the count would put its carry chain
    between the count and the handshakes that hang on it.
    """
    left = Signal(range(max_length + 1), name="left")
    empty, one = Signal(init=1, name="empty"), Signal(name="one")
    with m.If(load):
        m.d.sync += [left.eq(length), empty.eq(length == 0), one.eq(length == 1)]
    with m.Elif(take):
        m.d.sync += [left.eq(left - 1), empty.eq(one), one.eq(left == 2)]
    return empty, one


class ChannelCommand:
    """The channel opened by a command on ``cmd`` (a stream with ``length``, ``important`` and the
    float32 bits ``scale``) whose elements come on ``data``; drives ``cmd.ready`` (free when the
    previous channel's elements have all been taken).

    Attributes: ``load`` and ``take`` (the two handshakes), ``empty`` and ``one`` (registers, see
    :func:`channel_counter`), and the channel's registers ``important``, ``bad`` (the scale is not a
    positive, finite, non-zero float32), the scale's 24-bit ``significand``, ``exponent`` and its
    leading zeros ``lz`` (normalizing a subnormal scale is left to the first pipeline stage);
    ``bad_scale`` is the check of the command on ``cmd`` now.
    """

    def __init__(self, m: Module, cmd, data, scale, max_length: int, name: str):
        self.load = cmd.valid & cmd.ready
        self.take = data.valid & data.ready
        self.empty, self.one = channel_counter(m, max_length, load=self.load, length=cmd.payload.length, take=self.take)
        m.d.comb += cmd.ready.eq(self.empty)
        fields = unpack(m, scale, name)
        self.bad_scale = fields["sign"] | fields["zero"] | fields["infinite"] | fields["nan"]
        self.important, self.bad = Signal(name="ch_important"), Signal(name="ch_bad")
        self.significand, self.exponent = Signal(24, name="ch_sig"), Signal(signed(10), name="ch_exp")
        self.lz = Signal(range(25), name="ch_lz")
        with m.If(self.load):
            m.d.sync += [
                self.important.eq(cmd.payload.important),
                self.bad.eq(self.bad_scale),
                self.significand.eq(fields["significand"]),
                self.exponent.eq(fields["exponent"]),
                self.lz.eq(leading_zeros(m, fields["significand"], f"{name}_lz")),
            ]


class StallPipeline:
    """A pipeline of ``stages`` register stages that advances as a whole, one element per cycle,
    and holds while its last stage is full and ``ready`` is 0. Each element carries its ``valid``,
    ``last`` (loaded from ``first_last`` when it enters) and the ``tags`` (name -> value when it
    enters), one register per stage: ``valid[i]``, ``last[i]``, ``tag(name)[i]`` for stage ``i + 1``.

    ``advance`` is 1 in a cycle where the pipeline moves; :meth:`stage` makes a register that moves
    with it. The element entering is ``take`` (drive ``data.ready`` with ``advance`` and whatever
    else gates it).
    """

    def __init__(self, m: Module, stages: int, *, take, first_last, ready, tags: dict | None = None):
        self.m = m
        self.advance = Signal(name="advance")
        self.valid = [Signal(name=f"valid{i}") for i in range(1, stages + 1)]
        self.last = [Signal(name=f"last{i}") for i in range(1, stages + 1)]
        self._tags = {name: [Signal(name=f"{name}{i}") for i in range(1, stages + 1)] for name in (tags or {})}
        m.d.comb += self.advance.eq(~self.valid[-1] | ready)
        with m.If(self.advance):
            m.d.sync += [self.valid[0].eq(take), self.last[0].eq(first_last)]
            m.d.sync += [chain[0].eq(tags[name]) for name, chain in self._tags.items()]
            for i in range(1, stages):
                m.d.sync += [self.valid[i].eq(self.valid[i - 1]), self.last[i].eq(self.last[i - 1])]
                m.d.sync += [chain[i].eq(chain[i - 1]) for chain in self._tags.values()]

    def tag(self, name: str) -> list:
        return self._tags[name]

    def stage(self, i, value, name: str):
        """A register of stage ``i`` loaded with ``value`` when the pipeline advances."""
        reg = Signal(value.shape(), name=f"{name}{i}")
        with self.m.If(self.advance):
            self.m.d.sync += reg.eq(value)
        return reg
