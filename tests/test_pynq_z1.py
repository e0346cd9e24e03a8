"""The PYNQ-Z1 platform: device, clock and the pins of the board's reference manual, in a build plan."""

import re

from amaranth import Elaboratable
from amaranth.hdl import Module, Signal
from amaranth.lib import io

from boards.pynq_z1 import PynqZ1Platform

#: Pin of each resource, from the PYNQ-Z1 reference manual (rev. C) and Digilent's master XDC.
PINS = {
    "clk125_0__io": "H16",
    **{f"led_{i}__io": pin for i, pin in enumerate("R14 P14 N16 M14".split())},
    **{f"button_{i}__io": pin for i, pin in enumerate("D19 D20 L20 L19".split())},
    **{f"switch_{i}__io": pin for i, pin in enumerate("M20 M19".split())},
    "rgb_led_0__r__io": "N15", "rgb_led_0__g__io": "G17", "rgb_led_0__b__io": "L15",
    "rgb_led_1__r__io": "M15", "rgb_led_1__g__io": "L14", "rgb_led_1__b__io": "G14",
}


class _EveryPin(Elaboratable):
    """Every LED lit from a counter and an input: each pin of the board used once."""

    def elaborate(self, platform):
        m = Module()
        count = Signal(8)
        m.d.sync += count.eq(count + 1)

        def buffer(direction, port, name):
            m.submodules[name] = buf = io.Buffer(direction, port)
            return buf

        inputs = [buffer("i", platform.request(kind, i, dir="-"), f"{kind}{i}").i
                  for kind, count in (("button", 4), ("switch", 2)) for i in range(count)]
        outputs = [buffer("o", platform.request("led", i, dir="-"), f"led{i}").o for i in range(4)]
        for i in range(2):
            rgb = platform.request("rgb_led", i, dir="-")
            outputs += [buffer("o", getattr(rgb, color), f"rgb{i}{color}").o for color in "rgb"]
        for k, out in enumerate(outputs):
            m.d.comb += out.eq(count[k % 8] ^ inputs[k % len(inputs)])
        return m


def test_build_plan_has_the_board_and_its_pins():
    files = PynqZ1Platform().build(_EveryPin(), do_build=False).files
    assert "xc7z020clg400-1" in files["top.tcl"]
    locs = dict((port, pin) for pin, port in re.findall(r'set_property LOC (\w+) \[get_ports "([^"]+)"\]', files["top.xdc"]))
    assert locs == PINS
    assert re.search(r"create_clock -name clk125_0__io -period 8(\.0+)?\b", files["top.xdc"].replace("\\", ""))
    assert all(f'IOSTANDARD "LVCMOS33" [get_ports "{port}"]' in files["top.xdc"] for port in PINS)
