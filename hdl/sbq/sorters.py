"""Baseline sorters for the term generator comparison (SBQ paper, section IV-C and Table V).

The paper compares its intersection-based term generator with a bubble sorter and a bitonic sorting
network that sort the 16 4-bit product offsets of an int8 x int8 term product table in one cycle.
Both are built here as compare-exchange networks between an input and an output register
(:class:`BubbleSorter`, :class:`BitonicSorter`: bare keys, Table V's setup), and as a complete
generator of ranked term pairs with the same ports as the SBQ generators (:class:`SortRanker`: the
like-for-like comparison).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..params import integer
from .term_generator import PairLayout, check_lane_params, generator_signature, terms_layout as _terms_layout

__all__ = ["BubbleSorter", "BitonicSorter", "SortRanker", "bubble_network", "bitonic_network"]

_PAIR = PairLayout


def bubble_network(count: int) -> list[tuple[int, int]]:
    """Compare-exchange pairs ``(i, i+1)`` of an unrolled bubble sort: ``count*(count-1)/2`` of them.

    Pass ``p`` bubbles the smallest remaining key down to position ``count-1-p``.
    """
    return [(i, i + 1) for p in range(count - 1) for i in range(count - 1 - p)]


def bitonic_network(count: int) -> list[tuple[int, int]]:
    """Compare-exchange pairs ``(hi, lo)`` of Batcher's bitonic sorter for a power-of-two ``count``.

    After each pair the larger key sits at ``hi``, so the network sorts in descending order
    (``count/2 * log2(count) * (log2(count)+1) / 2`` pairs).
    """
    pairs = []
    size = 2
    while size <= count:
        stride = size // 2
        while stride >= 1:
            for i in range(count):
                partner = i ^ stride
                if partner > i:
                    pairs.append((i, partner) if i & size == 0 else (partner, i))
            stride //= 2
        size *= 2
    return pairs


class _Sorter(wiring.Component):
    """Sorts ``count`` unsigned ``width``-bit keys in descending order, one set per cycle.

    Ports (``sync`` domain):

    * ``keys``: input, ``ArrayLayout(width, count)``, registered on entry.
    * ``sorted``: output, ``ArrayLayout(width, count)``, registered; ``sorted[0]`` is the largest key.
    * ``order`` (only with ``indexed=True``): output, ``ArrayLayout(log2(count), count)``, the input
      position of each sorted key. Equal keys keep their input order, so ``order`` is the SBQ
      rank of term pairs when ``keys[4*i+j]`` is the offset of pair ``(i, j)``.

    Latency 2 cycles (input register, compare-exchange network, output register), throughput one
    key set per cycle, no back-pressure. The network itself is combinational: sorting happens in one
    cycle, as in the paper's comparison.
    """

    def __init__(self, *, count: int = 16, width: int = 4, indexed: bool = False):
        integer("count", count, min=2)
        integer("width", width, min=1)
        if not isinstance(indexed, bool):
            raise TypeError(f"indexed must be a bool, got {indexed!r}")
        self.count, self.width, self.indexed = count, width, indexed
        self.index_width = max(1, (count - 1).bit_length())
        ports = {
            "keys": In(data.ArrayLayout(width, count)),
            "sorted": Out(data.ArrayLayout(width, count)),
        }
        if self.indexed:
            ports["order"] = Out(data.ArrayLayout(self.index_width, count))
        super().__init__(ports)

    def network(self) -> list[tuple[int, int]]:
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        captured = Signal.like(self.keys, name="captured")
        m.d.sync += captured.eq(self.keys)

        # An element is {key, ~index} (index only when indexed): comparing those as unsigned numbers
        # orders by key, then by smaller input position, so equal keys keep their input order.
        def element(i):
            if not self.indexed:
                return captured[i]
            return Cat(Const(~i & ((1 << self.index_width) - 1), self.index_width), captured[i])

        lanes = [element(i) for i in range(self.count)]
        for n, (hi, lo) in enumerate(self.network()):
            a, b = lanes[hi], lanes[lo]
            swap = Signal(name=f"swap{n}")
            m.d.comb += swap.eq(a < b)
            new_hi, new_lo = Signal(len(a), name=f"ce{n}_hi"), Signal(len(b), name=f"ce{n}_lo")
            m.d.comb += [new_hi.eq(Mux(swap, b, a)), new_lo.eq(Mux(swap, a, b))]
            lanes[hi], lanes[lo] = new_hi, new_lo

        for i, lane in enumerate(lanes):
            if self.indexed:
                m.d.sync += [self.sorted[i].eq(lane[self.index_width:]),
                             self.order[i].eq(~lane[:self.index_width])]
            else:
                m.d.sync += self.sorted[i].eq(lane)
        return m


class BubbleSorter(_Sorter):
    __doc__ = _Sorter.__doc__ + """
    Network: unrolled bubble sort, ``count*(count-1)/2`` compare-exchange units (120 for 16 keys),
    ``2*count-3`` of them deep.
    """

    def network(self):
        return bubble_network(self.count)


class BitonicSorter(_Sorter):
    __doc__ = _Sorter.__doc__ + """
    Network: Batcher's bitonic sorter, ``count`` a power of two; 80 compare-exchange units in
    10 layers for 16 keys.
    """

    def __init__(self, *, count: int = 16, width: int = 4, indexed: bool = False):
        if isinstance(count, int) and not isinstance(count, bool) and count >= 2 and count & (count - 1):
            raise ValueError(f"count must be a power of two for a bitonic network, got {count}")
        super().__init__(count=count, width=width, indexed=indexed)

    def network(self):
        return bitonic_network(self.count)


class SortRanker(wiring.Component):
    """Ranked term pairs from a sorting network: the like-for-like sorter of the Table V comparison.

    Same ports and cycle contract as :class:`~hdl.sbq.pair_generator.PairGenerator` (``a``, ``w``,
    ``load``, ``cycle``, ``en`` in; rank ``cycle`` on ``sig`` and rank ``B + cycle`` on ``queued`` out),
    with one more window of latency: a multiplication loaded at the end of window ``k`` gives its
    pairs in window ``k + 2``.

    Parameters (keyword-only): ``network`` (``"bubble"`` or ``"bitonic"``), ``budget`` (``B``, 1..16),
    ``comp`` (``C``, 0..``B``), ``wbits`` (4 or 8: 8 or 16 term pairs; activations are int8).

    Window ``k + 1`` (stage S) holds the operand terms in a register; the key of every pair
    (``{valid, off_a + off_w, ~index}``, index ``i * T_w + j``, so that ties keep the SBQ rank order)
    goes through the combinational network, which has the whole window of ``B`` cycles to settle (a
    ``B``-cycle multicycle path: the sorter uses the cycles the multiplication owns). At the window's
    end the first ``B + C`` sorted pairs (valid bit and :data:`PairLayout` fields) are registered
    (stage C) and read out over window ``k + 2``. Throughput: one multiplication per ``B`` cycles; no
    back-pressure (``en`` stalls it).
    """

    def __init__(self, *, network: str = "bitonic", budget: int = 4, comp: int = 4, wbits: int = 8):
        if network not in ("bubble", "bitonic"):
            raise ValueError(f"network must be 'bubble' or 'bitonic', got {network!r}")
        check_lane_params(budget, comp, None, wbits)
        self.network, self.budget, self.comp, self.wbits = network, budget, comp, wbits
        self.rows, self.cols = 4, wbits // 2
        self.pairs = self.rows * self.cols
        super().__init__(generator_signature(self.rows, self.cols, budget))

    def elaborate(self, platform):
        m = Module()
        rows, cols, count, budget, comp = self.rows, self.cols, self.pairs, self.budget, self.comp
        index_width = (count - 1).bit_length()
        a = Signal(_terms_layout(rows), name="s_a")
        w = Signal(_terms_layout(cols), name="s_w")

        # Every pair as {pair fields, ~index, off, valid}: compared on its top bits (valid, off, ~index).
        lanes = []
        for i in range(rows):
            for j in range(cols):
                index = i * cols + j
                off = (a.off[i] + w.off[j])[:4]
                fields = Cat(a.mag[i], a.neg[i], w.mag[j], w.neg[j], off)
                lanes.append(Cat(fields, Const(~index & ((1 << index_width) - 1), index_width), off,
                                 a.valid[i] & w.valid[j]))
        low = _PAIR.size  # the compare key starts above the pair fields
        pairs = bubble_network(count) if self.network == "bubble" else bitonic_network(count)
        for n, (hi, lo) in enumerate(pairs):
            x, y = lanes[hi], lanes[lo]
            swap = Signal(name=f"swap{n}")
            m.d.comb += swap.eq(x[low:] < y[low:])
            new_hi, new_lo = Signal(len(x), name=f"ce{n}_hi"), Signal(len(y), name=f"ce{n}_lo")
            m.d.comb += [new_hi.eq(Mux(swap, y, x)), new_lo.eq(Mux(swap, x, y))]
            lanes[hi], lanes[lo] = new_hi, new_lo

        # Stage C: the first B + C ranks, {valid, pair}.
        kept = min(budget + comp, count)
        ranked = [Signal(1 + _PAIR.size, name=f"rank{r}") for r in range(kept)]

        def rank(r):
            return ranked[r] if r < kept else Const(0, 1 + _PAIR.size)

        def by_cycle(choices):
            out = Const(0, 1 + _PAIR.size)
            for t, value in enumerate(choices):
                out = Mux(self.cycle == t, value, out)
            return out

        sig = by_cycle([rank(t) for t in range(budget)])
        queued = by_cycle([rank(budget + t) for t in range(comp)])
        m.d.comb += [
            self.sig.eq(sig[:_PAIR.size]), self.sig_valid.eq(sig[_PAIR.size]),
            self.queued.eq(queued[:_PAIR.size]), self.queued_valid.eq(queued[_PAIR.size] & (self.cycle < comp)),
        ]
        with m.If(self.en & (self.cycle == budget - 1)):
            m.d.sync += [ranked[r].eq(Cat(lanes[r][:_PAIR.size], lanes[r][-1])) for r in range(kept)]
            with m.If(self.load):
                m.d.sync += [a.eq(self.a), w.eq(self.w)]
            with m.Else():
                m.d.sync += [a.eq(0), w.eq(0)]
        return m
