# amaranth: UnusedElaboratable=no
"""Constructor parameters of the SBQ components: keyword-only, TypeError for a wrong type, ValueError
for a wrong value, with the message the ``hdl.generate`` command line relays."""

import pytest

from hdl.sbq import ComputeLane, InnerProductUnit, TermEncoder, TermGenerator, TermQueue
from hdl.sbq.sorters import BitonicSorter, BubbleSorter


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: TermEncoder(bits=5), ValueError, r"^bits must be one of 4, 8, got 5$"),
        (lambda: TermEncoder(bits="8"), TypeError, r"^bits must be an integer, got '8'$"),
        (lambda: TermEncoder(bits=True), TypeError, r"^bits must be an integer, got True$"),
        (lambda: InnerProductUnit(lanes=0), ValueError, r"^lanes must be in 1\.\.64, got 0$"),
        (lambda: InnerProductUnit(lanes=65), ValueError, r"^lanes must be in 1\.\.64, got 65$"),
        (lambda: InnerProductUnit(lanes=2.0), TypeError, r"^lanes must be an integer, got 2\.0$"),
        (lambda: InnerProductUnit(budget=0), ValueError, r"^budget must be in 1\.\.16, got 0$"),
        (lambda: InnerProductUnit(budget=17), ValueError, r"^budget must be in 1\.\.16, got 17$"),
        (lambda: InnerProductUnit(budget=2, comp=3), ValueError,
         r"^comp must be <= budget \(2\): a lane offers at most one pair to its queue per cycle, got 3$"),
        (lambda: ComputeLane(comp=-1), ValueError, r"^comp must be >= 0, got -1$"),
        (lambda: ComputeLane(depth=0), ValueError, r"^depth must be in 1\.\.64, got 0$"),
        (lambda: ComputeLane(wbits=6), ValueError, r"^wbits must be one of 4, 8, got 6$"),
        (lambda: ComputeLane(max_mults=0), ValueError, r"^max_mults must be >= 1, got 0$"),
        (lambda: TermGenerator(budget=4, comp=5), ValueError, r"^comp must be <= budget \(4\)"),
        (lambda: TermQueue(depth=0), ValueError, r"^depth must be >= 1, got 0$"),
        (lambda: BitonicSorter(count=12), ValueError, r"^count must be a power of two for a bitonic network, got 12$"),
        (lambda: BubbleSorter(count=1), ValueError, r"^count must be >= 2, got 1$"),
        (lambda: BubbleSorter(indexed=1), TypeError, r"^indexed must be a bool, got 1$"),
    ],
)
def test_constructor_rejects(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("cls", [TermEncoder, TermGenerator, TermQueue, ComputeLane, InnerProductUnit, BubbleSorter])
def test_constructors_are_keyword_only(cls):
    with pytest.raises(TypeError, match="positional"):
        cls(4)
