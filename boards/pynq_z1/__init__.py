"""The PYNQ-Z1 board: its Amaranth platform (:mod:`boards.pynq_z1.platform`)."""

from .platform import PynqZ1Platform

__all__ = ["PynqZ1Platform"]
