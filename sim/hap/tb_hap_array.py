"""cocotb testbench: ``hap_array`` bit-exact against ``golden.hap.layer``, cycle-exact against
``golden.hap.cycles``.

Every layer is sent as the steps of ``sim.hap.cases.layer_program``; every output row is checked
(values and ``last``), and with the streams free of pauses the cycles from the first step taken to
the last row out must equal the model's count. The environment variable ``QACCEL_HAP_FULL=1``
(the slow run) sends the whole real layer and more random layers; by default the real layer is cut
to its first ``2 * rows`` output channels (both widths) and one column group.
"""

import os
import random

import cocotb
import torch

from golden.hap.dar import dar
from hdl.hap.layouts import result_layout, step_layout
from sim.hap.cases import layer_program, real_layer
from sim.harness import bench_params, record_figures
from sim.streams import Scoreboard, Testbench, random_pauses


class ArrayBench:
    def __init__(self, dut, gap: float = 0.0, drop: float = 0.0, seed: int = 0):
        p = bench_params()
        self.dut, self.rows, self.cols, self.acc_bits = dut, p["rows"], p["cols"], p["acc_bits"]
        self.gap, self.drop, self.seed = gap, drop, seed
        self.records = []
        self.steps_layout = step_layout(self.rows, self.cols)
        self.results_layout = result_layout(self.cols, self.acc_bits)

    async def start(self):
        self.tb = tb = Testbench(self.dut)
        await tb.start()
        self.source = tb.source("steps", random_pauses(self.gap, self.seed))
        self.taken = tb.monitor("steps", self.steps_layout)
        self.sink = tb.sink("results", self.results_layout, random_pauses(self.drop, self.seed + 1))
        self.scoreboard = Scoreboard(self.sink, compare=lambda got, want: (
            [got.values[c] for c in range(self.cols)], got.last) == want)
        await tb.reset()
        return self

    async def run(self, label, groups, weights, bits, zero_point, order="hap", seed=0, check_cycles=True):
        """One layer through the array: every row exact; with no pauses, its cycles as modelled."""
        prog = layer_program(groups, weights, bits, zero_point, rows=self.rows, cols=self.cols,
                             acc_bits=self.acc_bits, order=order, seed=seed)
        while not self.taken.empty():
            self.taken.recv_nowait()
        matched = len(self.scoreboard.matched)
        for step in prog.steps:
            self.source.send_nowait(self.steps_layout.const(step))
        for n, row in enumerate(prog.expected):
            self.scoreboard.expect(row, label=f"{label} row {n}")
        await self.scoreboard.wait(4 * prog.cycles + 20 * len(prog.steps) + 200)
        first = self.taken.recv_nowait().cycle
        last = self.scoreboard.matched[-1].cycle
        assert len(self.scoreboard.matched) - matched == len(prog.expected)
        self.records.append({"case": label, "tiles": prog.tiles, "steps": len(prog.steps), "rows": len(prog.expected),
                             "cycles": last - first + 1, "model_cycles": prog.cycles, "paused": not check_cycles})
        if check_cycles:
            assert last - first + 1 == prog.cycles, f"{label}: {last - first + 1} cycles, model {prog.cycles}"
        self.dut._log.info("%s: %d tiles, %d steps, %d cycles (model %d)", label, prog.tiles, len(prog.steps),
                           last - first + 1, prog.cycles)
        return prog

    async def finish(self, test: str):
        """The end of a test: nothing pending or extra; the runs' cycle figures recorded
        (``build/sim/hap_cycles_<test>/``, read by ``python -m sim.hap.rtl_cycles``)."""
        await self.scoreboard.finish(idle_cycles=10)
        record_figures(f"hap_cycles_{test}", "hap_array", bench_params(), {"full": full(), "runs": self.records})


def random_layer(rng: random.Random, k: int, p: int, o: int, cols: int, fraction_8bit: float, narrow: float = 0.5):
    """Codes with narrow groups (a few low precisions), weights across their full ranges."""
    gen = torch.Generator().manual_seed(rng.randrange(1 << 30))
    q = torch.randint(0, 256, (k, p), generator=gen)
    for row in range(k):
        if rng.random() < narrow:
            width = rng.choice([1, 2, 3, 5, 17, 100])
            q[row] = rng.randrange(0, 256 - width) + torch.randint(0, width, (p,), generator=gen)
    bits = [8 if rng.random() < fraction_8bit else 4 for _ in range(o)]
    w = torch.tensor([[rng.randrange(-(1 << (b - 1)), 1 << (b - 1)) for _ in range(k)] for b in bits])
    return dar(q, group_size=cols), w, bits, rng.randrange(256)


def full() -> bool:
    return os.environ.get("QACCEL_HAP_FULL") == "1"


@cocotb.test()
async def random_layers(dut):
    """Random layers (shapes, zero points, 4/8-bit channels) in the HAP order, in k order and
    shuffled: every row exact, every run's cycles equal to the model's."""
    bench = await ArrayBench(dut).start()
    rng = random.Random(1)
    for n in range(24 if full() else 6):
        k, p = rng.randint(1, 40 if full() else 12), rng.randint(1, 2 * bench.cols + 1)
        o = rng.randint(1, bench.rows + 3)
        groups, w, bits, z = random_layer(rng, k, p, o, bench.cols, rng.choice([0.0, 0.3, 1.0]))
        await bench.run(f"random {n}", groups, w, bits, z, order=("hap", "k", "random")[n % 3], seed=n)
    await bench.finish("random_layers")


@cocotb.test()
async def corners(dut):
    """All-equal groups (precision 0 only), precision 8 everywhere, extremes of codes, zero points
    and weights (-128/127, -8/7), only 8-bit channels, one step per tile, a short last group, and
    sums past the accumulator width (modulo 2^acc_bits)."""
    bench = await ArrayBench(dut).start()
    rows, cols = bench.rows, bench.cols
    # all-equal groups: no bit cycle at all, everything in the zero-point term
    q = torch.full((6, 2 * cols), 200)
    w = torch.tensor([[7, -8, 3, -1, 0, 5]] * rows)
    await bench.run("all equal", dar(q, group_size=cols), w, [4] * rows, 17)
    # precision 8 everywhere: 0 and 255 in every group; extreme weights, all channels 8-bit
    q = torch.tensor([[0, 255] * cols, [255, 0] * cols, [128, 127] * cols])[:, : 2 * cols]
    w = torch.tensor([[-128, 127, -128], [127, -128, 127]] * rows)[: rows // 2 + 1]
    await bench.run("precision 8, 8-bit channels", dar(q, group_size=cols), w, [8] * w.shape[0], 0)
    await bench.run("precision 8, z = 255", dar(q, group_size=cols), w, [8] * w.shape[0], 255)
    # extremes of 4-bit weights and codes, mixed with 8-bit channels; one step (K = 1); short group
    q = torch.tensor([[255] * (cols + 1)])
    w = torch.tensor([[-8], [7], [-128], [127], [-1]])
    await bench.run("K = 1, short group", dar(q, group_size=cols), w, [4, 4, 8, 8, 4], 0)
    await bench.run("K = 1, all zero codes", dar(torch.zeros(1, cols, dtype=torch.int64), group_size=cols),
                    w, [4, 4, 8, 8, 4], 255)
    # past the accumulator: K all-equal groups of 255 (one cycle each, zero-point term -128 * 255 * K)
    # and two of precision 8 wrap modulo 2^acc_bits
    k = (1 << (bench.acc_bits - 15)) + 3
    q = torch.full((k, cols), 255)
    q[:2] = torch.tensor([[0, 255] * cols])[:, :cols]
    w = torch.full((2, k), -128)
    w[1] = 127
    await bench.run("wrap", dar(q, group_size=cols), w, [8, 8], 0)
    # zero-precision steps first, then precision 8: none can hide (k order)
    q = torch.cat([torch.full((5, cols), 9), torch.tensor([[0, 255] * cols])[:, :cols]])
    w = torch.randint(-8, 8, (rows, 6), generator=torch.Generator().manual_seed(4))
    await bench.run("zeros first", dar(q, group_size=cols), w, [4] * rows, 100, order="k")
    await bench.finish("corners")


@cocotb.test()
async def backpressure(dut):
    """Random gaps in the steps and ready drops on the results: every row still exact and in order."""
    bench = await ArrayBench(dut, gap=0.3, drop=0.5, seed=7).start()
    rng = random.Random(7)
    for n in range(12 if full() else 4):
        groups, w, bits, z = random_layer(rng, rng.randint(1, 12), rng.randint(1, 2 * bench.cols), rng.randint(1, bench.rows + 2),
                                          bench.cols, 0.4)
        await bench.run(f"paused {n}", groups, w, bits, z, check_cycles=False)
    await bench.finish("backpressure")


@cocotb.test()
async def real_network_layer(dut):
    """digits_cnn's block1.a.conv on one real image (K = 144): 4/8-bit channels, every row exact,
    cycles as the model counts them; by default its first ``2 * rows`` channels and ``cols`` columns."""
    bench = await ArrayBench(dut).start()
    layer = real_layer()
    codes, weights, bits = layer.codes, layer.weights, layer.bits
    if not full():
        o = 2 * bench.rows
        codes, weights, bits = codes[:, : bench.cols], weights[:o], bits[:o]
        assert 4 in bits and 8 in bits
    groups = dar(codes, group_size=bench.cols)
    await bench.run("digits_cnn block1.a.conv", groups, weights, bits, layer.zero_point)
    await bench.finish("real_network_layer")
