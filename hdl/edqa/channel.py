"""The element count of the channel a pipeline is taking in, with its two flags in registers."""

from amaranth.hdl import Module, Signal

__all__ = ["channel_counter"]


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
