# amaranth: UnusedElaboratable=no
"""The Table V baseline sorters sort, checked cycle by cycle in Amaranth's simulator against sorted()."""

import random

import pytest
from amaranth.hdl import Value
from amaranth.sim import Simulator

from hdl.sbq.sorters import BitonicSorter, BubbleSorter, bitonic_network, bubble_network

LATENCY = 2  # input register + output register


def edge_vectors(count, width):
    top = (1 << width) - 1
    vectors = [
        [0] * count, [top] * count, list(range(count)), list(range(count))[::-1],
        [i % (top + 1) for i in range(count)], [top * (i % 2) for i in range(count)],
    ]
    for position in (0, count // 2, count - 1):  # one large key among zeros and one small among ones
        vectors.append([top if i == position else 0 for i in range(count)])
        vectors.append([0 if i == position else top for i in range(count)])
    return [[v % (top + 1) for v in vector] for vector in vectors]


def pack(values, width):
    return sum(v << (width * i) for i, v in enumerate(values))


def unpack(word, width, count):
    return [(word >> (width * i)) & ((1 << width) - 1) for i in range(count)]


def simulate(dut, vectors):
    """Drive one key set per cycle; return what ``sorted`` (and ``order``) showed LATENCY cycles later."""
    keys, out = Value.cast(dut.keys), Value.cast(dut.sorted)
    order = Value.cast(dut.order) if dut.indexed else None
    seen = []

    async def bench(ctx):
        for vector in vectors + [[0] * dut.count] * LATENCY:
            ctx.set(keys, pack(vector, dut.width))
            await ctx.tick()
            seen.append((ctx.get(out), ctx.get(order) if order is not None else None))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # The value read after the k-th edge reflects the key set applied LATENCY - 1 edges before it.
    results = seen[LATENCY - 1:LATENCY - 1 + len(vectors)]
    return [(unpack(s, dut.width, dut.count), None if o is None else unpack(o, dut.index_width, dut.count))
            for s, o in results]


SORTERS = [BubbleSorter, BitonicSorter]


@pytest.mark.parametrize("cls", SORTERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("indexed", [False, True], ids=["keys", "indexed"])
def test_sorts_16_offsets(cls, indexed):
    rng = random.Random(1234)
    count, width = 16, 4
    vectors = edge_vectors(count, width)
    vectors += [[rng.randrange(1 << width) for _ in range(count)] for _ in range(150)]
    vectors += [[rng.choice((3, 7)) for _ in range(count)] for _ in range(20)]  # many ties
    dut = cls(count=count, width=width, indexed=indexed)
    for vector, (got, order) in zip(vectors, simulate(dut, vectors), strict=True):
        assert got == sorted(vector, reverse=True), f"keys {vector}"
        if indexed:
            assert order == sorted(range(count), key=lambda i: (-vector[i], i)), f"keys {vector}"


@pytest.mark.parametrize("cls,count", [(BubbleSorter, 5), (BubbleSorter, 8), (BitonicSorter, 8)])
def test_other_sizes(cls, count):
    rng = random.Random(count)
    vectors = edge_vectors(count, 3) + [[rng.randrange(8) for _ in range(count)] for _ in range(60)]
    dut = cls(count=count, width=3, indexed=True)
    for vector, (got, order) in zip(vectors, simulate(dut, vectors), strict=True):
        assert got == sorted(vector, reverse=True)
        assert order == sorted(range(count), key=lambda i: (-vector[i], i))


def test_network_sizes():
    assert len(bubble_network(16)) == 16 * 15 // 2
    assert len(bitonic_network(16)) == 8 * 4 * 5 // 2


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="power of two"):
        BitonicSorter(count=12)
    with pytest.raises(ValueError, match="count"):
        BubbleSorter(count=1)
    with pytest.raises(ValueError, match="width"):
        BubbleSorter(width=0)


# The like-for-like sorter of Table V (b): ranked pairs from a sorting network, checked cycle by
# cycle against the golden ranking with the SBQ generators' bench (sim/sbq/ranks.py).
def _check_sort_ranker(network, budget, comp, wbits, *, corners):
    from hdl.sbq.sorters import SortRanker
    from sim.sbq.ranks import check_ranks, operands

    dut = SortRanker(network=network, budget=budget, comp=comp, wbits=wbits)
    pairs = operands(wbits, 150, seed=budget + comp + wbits, corners=corners)
    wrong = check_ranks(dut, pairs, windows=2, seed=budget)
    assert not wrong, f"{len(wrong)} mismatches; first (a, w), cycle, what, got, expected: {wrong[:3]}"


@pytest.mark.parametrize("network", ["bubble", "bitonic"])
def test_sort_ranker_gives_the_golden_ranks(network):
    _check_sort_ranker(network, 4, 4, 8, corners=False)


@pytest.mark.slow
@pytest.mark.parametrize("network", ["bubble", "bitonic"])
@pytest.mark.parametrize("budget, comp, wbits", [(4, 4, 8), (2, 2, 8), (3, 1, 4)])
def test_sort_ranker_corners_and_other_budgets(network, budget, comp, wbits):
    _check_sort_ranker(network, budget, comp, wbits, corners=True)


def test_sort_ranker_parameters_are_validated():
    from hdl.sbq.sorters import SortRanker

    with pytest.raises(ValueError, match="network must be 'bubble' or 'bitonic', got 'odd'"):
        SortRanker(network="odd")
    with pytest.raises(ValueError, match=r"^comp must be <= budget \(2\): a lane offers at most one pair to its queue per cycle, got 3$"):
        SortRanker(budget=2, comp=3)
    with pytest.raises(TypeError, match="budget must be an integer"):
        SortRanker(budget=None)
