"""Checks of constructor parameters, shared by every component so that messages read the same.

A wrong type raises ``TypeError``, a wrong value ``ValueError``, as Amaranth's own constructors do
(``SyncFIFO(*, width, depth)``); the ``hdl.generate`` command line relays the message unchanged.
"""

from __future__ import annotations

__all__ = ["integer"]


def integer(name: str, value, *, min: int | None = None, max: int | None = None,
            choices: tuple[int, ...] | None = None) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) within the bounds or among ``choices``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(str(c) for c in choices)}, got {value}")
    if min is not None and max is not None and not min <= value <= max:
        raise ValueError(f"{name} must be in {min}..{max}, got {value}")
    if min is not None and value < min:
        raise ValueError(f"{name} must be >= {min}, got {value}")
    if max is not None and value > max:
        raise ValueError(f"{name} must be <= {max}, got {value}")
    return value
