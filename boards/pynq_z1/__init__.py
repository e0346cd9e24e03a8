"""The PYNQ-Z1 board: its Amaranth platform (:mod:`.platform`), the eDQA system that runs on it
(:mod:`.system`, :mod:`.top`), its register map (:mod:`.registers`) and the host driver
(:mod:`.driver`).

Nothing is imported eagerly: the driver and the register map run on the board, where Amaranth may
be missing.
"""

__all__ = ["PynqZ1Platform"]


def __getattr__(name):
    if name == "PynqZ1Platform":
        from .platform import PynqZ1Platform
        return PynqZ1Platform
    raise AttributeError(name)
