"""The PYNQ-Z1 board (Digilent/Xilinx, Zynq-7020 ``xc7z020clg400-1``) as an Amaranth platform.

amaranth-boards has no PYNQ-Z1; its Arty Z7-20 carries the same chip in the same package. The pins
below are those of the PYNQ-Z1 reference manual (Digilent, "PYNQ-Z1 Reference Manual", rev. C) and
of Digilent's master constraints file for the board (``PYNQ-Z1_C.xdc``): the 125 MHz clock from the
Ethernet PHY on H16 (bank 35, LVCMOS33), four LEDs LD0-LD3, two RGB LEDs LD4/LD5 (active high), four
push buttons BTN0-BTN3 (active high) and two slide switches SW0/SW1. The processing system's own
pins (DDR, MIO) need no constraints: they are the PS7's.

The clock the eDQA design runs on is not this one but FCLK_CLK0 of the processing system (see
``boards.pynq_z1.top``); the 125 MHz pin is kept for designs without the PS.
"""

from amaranth.build import Attrs, Clock, Pins, Resource
from amaranth.vendor import XilinxPlatform
from amaranth_boards.resources import ButtonResources, LEDResources, RGBLEDResource, SwitchResources

__all__ = ["PynqZ1Platform"]


class PynqZ1Platform(XilinxPlatform):
    device = "xc7z020"
    package = "clg400"
    speed = "1"
    default_clk = "clk125"
    resources = [
        Resource("clk125", 0, Pins("H16", dir="i"), Clock(125e6), Attrs(IOSTANDARD="LVCMOS33")),
        *LEDResources(pins="R14 P14 N16 M14", attrs=Attrs(IOSTANDARD="LVCMOS33")),  # LD0-LD3
        RGBLEDResource(0, r="N15", g="G17", b="L15", attrs=Attrs(IOSTANDARD="LVCMOS33")),  # LD4
        RGBLEDResource(1, r="M15", g="L14", b="G14", attrs=Attrs(IOSTANDARD="LVCMOS33")),  # LD5
        *ButtonResources(pins="D19 D20 L20 L19", attrs=Attrs(IOSTANDARD="LVCMOS33")),  # BTN0-BTN3
        *SwitchResources(pins="M20 M19", attrs=Attrs(IOSTANDARD="LVCMOS33")),  # SW0, SW1
    ]
    connectors = []
