"""The SBQ term multiplier in Amaranth's simulator: every term pair that any int8 x int8
multiplication produces gives the golden term product (and 0 when not valid)."""

from golden.sbq import encode_value, rank_pairs
from hdl.sbq import TermMultiplier
from hdl.sbq.term_generator import PairLayout
from hdl.sbq.term_multiplier import PRODUCT_WIDTH
from sim.unit import simulate


def _pair_fields() -> dict[tuple, int]:
    """(mag_a, neg_a, mag_w, neg_w, off) -> golden term product, over all int8 x int8 operands."""
    table = {}
    for a in range(-128, 128):
        terms_a = encode_value(a, 8)
        for w in range(-128, 128):
            terms_w = encode_value(w, 8)
            for value, offset, i, j in rank_pairs(a, w):
                (ma, _, na), (mw, _, nw) = terms_a[i], terms_w[j]
                key = (ma, int(na), mw, int(nw), offset)
                assert table.setdefault(key, value) == value
    return table


def test_every_reachable_pair_gives_the_golden_product():
    table = _pair_fields()
    dut = TermMultiplier()
    wrong = []

    async def bench(ctx):
        for (ma, na, mw, nw, off), value in table.items():
            ctx.set(dut.pair, PairLayout.const({"mag_a": ma, "neg_a": na, "mag_w": mw, "neg_w": nw, "off": off}))
            ctx.set(dut.valid, 1)
            if ctx.get(dut.product) != value:
                wrong.append(((ma, na, mw, nw, off), ctx.get(dut.product), value))
            ctx.set(dut.valid, 0)
            if ctx.get(dut.product) != 0:
                wrong.append(((ma, na, mw, nw, off), ctx.get(dut.product), "0 when not valid"))

    simulate(dut, bench, clocked=False)
    assert {key[4] for key in table} == set(range(13))  # every product offset 0..12
    assert {value < 0 for value in table.values()} == {True, False}
    assert not wrong, f"{len(wrong)} pairs differ; first (fields, rtl, golden): {wrong[:3]}"


def test_largest_product_sizes_the_product_path():
    """The largest term product is 16384, only from the term pair -128 x -128 (both sign terms
    ``-2 << 6``), so ``signed(PRODUCT_WIDTH)`` = 16 bits holds every product and one bit less would
    not; ``3 * 3 << 12`` never occurs."""
    table = _pair_fields()
    largest = max(abs(v) for v in table.values())
    assert largest == 16384 == 1 << (PRODUCT_WIDTH - 2)
    assert [key for key, v in table.items() if abs(v) == largest] == [(2, 1, 2, 1, 12)]
    assert all(-(1 << (PRODUCT_WIDTH - 1)) <= v < 1 << (PRODUCT_WIDTH - 1) for v in table.values())
    assert sorted({abs(v) for v in table.values()})[-3:] == [9216, 12288, 16384]
