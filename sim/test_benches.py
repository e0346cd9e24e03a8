"""Every registered design has a testbench, so ``make demo`` verifies all of them."""

from hdl.registry import designs
from sim.benches import BENCHES


def test_every_design_has_a_bench():
    assert set(BENCHES) == set(designs())
