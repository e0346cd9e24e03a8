"""What the two PE benches share (``waps_pe`` and its baseline ``mac_pe``): the streams, the jobs of
a layer sent and scored, the cycle formula, and the cocotb tests themselves, written once with
``grouped`` (the WAPS PE) or not (the baseline, which computes the layer with every scale 1)."""

from __future__ import annotations

import random

import torch

from hdl.waps import MacPE, WapsPE
from hdl.waps.layouts import beat_layout, cmd_layout, out_layout
from sim.harness import bench_params, record_figures
from sim.streams import Scoreboard, Testbench, random_pauses
from sim.waps.cases import Shape, beats_per_job, jobs, random_input, random_layer, real_layer

__all__ = ["PEBench", "real_network", "corners", "random_layers", "backpressure_and_reset", "three_groups_cycles"]


class PEBench:
    """A PE with streams ``beats`` and ``cmd`` in and ``out`` out: sources with random gaps
    (``gap``), a monitor of ``beats``, a sink with random ready drops (``drop``), a scoreboard of
    whole output vectors. ``latency`` is the design's cycles from a job's last beat to its output."""

    def __init__(self, dut, grouped: bool, seed: int, gap: float = 0.0, drop: float = 0.0):
        self.dut, self.grouped, self.seed, self.gap, self.drop = dut, grouped, seed, gap, drop
        self.params = bench_params()
        self.shape = Shape.of(self.params)
        s = self.shape
        self.beat = beat_layout(s.inputs, s.outputs, s.w_bits, s.a_bits, grouped)
        self.cmd_layout = cmd_layout(s.outputs, s.acc_bits, s.mult_bits)
        self.out_layout = out_layout(s.outputs, s.out_bits)
        self.latency = (WapsPE if grouped else MacPE).LATENCY
        self.sent: list[list[int]] = []  # beat count of every job sent, for the cycle formula

    async def start(self):
        self.tb = tb = Testbench(self.dut)
        await tb.start()
        self.beats = tb.source("beats", random_pauses(self.gap, self.seed))
        self.cmd = tb.source("cmd", random_pauses(self.gap / 2, self.seed + 1))
        self.taken = tb.monitor("beats", self.beat)
        self.out = tb.sink("out", self.out_layout, random_pauses(self.drop, self.seed + 2))
        self.scoreboard = Scoreboard(self.out, compare=lambda got, want: [got[k] for k in range(len(want))] == want)
        await tb.reset()
        return self

    def send(self, layer, x, label: str) -> int:
        """Queue the jobs of ``layer`` on ``x`` and their expected outputs; return the beat count."""
        total = 0
        for job in jobs(layer, x, self.shape, grouped=self.grouped, label=label):
            self.cmd.send_nowait(self.cmd_layout.const(job.cmd))
            for beat in job.beats:
                self.beats.send_nowait(self.beat.const(beat))
            self.scoreboard.expect(job.want, label=job.label)
            self.sent.append(len(job.beats))
            total += len(job.beats)
        return total

    async def reset(self) -> None:
        """Reset now: what the sources still hold and what was expected is dropped."""
        self.beats.clear()
        self.cmd.clear()
        await self.tb.reset()
        self.scoreboard.pending.clear()
        self.taken.clear()
        self.sent.clear()

    def count_from_here(self) -> None:
        """Start the cycle formula's counts afresh (after every earlier job has come out)."""
        self.sent.clear()
        self.taken.clear()
        self.scoreboard.matched.clear()

    async def finish(self, beats: int) -> None:
        await self.scoreboard.wait(20 * beats + 200)
        await self.scoreboard.finish(idle_cycles=10)

    def assert_cycle_formula(self) -> dict:
        """With no ready drops: each job's output ``latency`` cycles after its last beat; with no gaps
        either, one beat per cycle and ``beats - 1 + latency`` cycles from the first beat to the last output."""
        taken = [self.taken.recv_nowait().cycle for _ in range(self.taken.count())]
        outputs = [t.cycle for t in self.scoreboard.matched]
        assert len(taken) == sum(self.sent), f"{len(taken)} beats taken, {sum(self.sent)} sent"
        ends, at = [], 0
        for count in self.sent:
            at += count
            ends.append(taken[at - 1])
        delays = sorted({o - e for o, e in zip(outputs, ends)})
        assert delays == [self.latency], f"output - last beat = {delays}, expected [{self.latency}]"
        figures = {"beats": len(taken), "jobs": len(self.sent), "latency": self.latency,
                   "cycles": outputs[-1] - taken[0] + 1}
        if self.gap == 0:
            gaps = sorted({b - a for a, b in zip(taken, taken[1:])})
            assert gaps in ([1], []), f"beats taken {gaps} cycles apart, expected 1"
            assert outputs[-1] - taken[0] == len(taken) - 1 + self.latency, \
                f"{outputs[-1] - taken[0]} cycles from the first beat to the last output, expected " \
                f"{len(taken) - 1} + {self.latency}"
        return figures


async def real_network(dut, grouped: bool) -> None:
    """A calibrated ``digits_cnn`` conv on real activations, bit-exact, the cycle formula asserted;
    then the same under random gaps (formula still asserted: gaps only delay beats)."""
    bench = await PEBench(dut, grouped, seed=1).start()
    layer, x = real_layer("block1.a.conv", images=1)
    beats = bench.send(layer, x, "block1.a.conv")
    per_job = beats_per_job(layer, bench.shape.inputs, grouped)
    assert beats == per_job * len(bench.sent)
    await bench.finish(beats)
    figures = bench.assert_cycle_formula()
    record_figures("waps_cycles", _design(grouped), bench.params, {**figures, "layer": "block1.a.conv", "beats_per_job": per_job})
    dut._log.info("real layer: %d jobs of %d beats exact", len(bench.sent), per_job)


def _design(grouped: bool) -> str:
    return "waps_pe" if grouped else "mac_pe"


def _corner_layers(shape: Shape) -> list:
    """``(label, layer, x)`` of the corner cases: one group at every select, empty groups, groups of
    one channel, saturating sums (the largest magnitudes that fit ``acc_bits``), small negative sums at
    the shift, requantization extremes (shift 0 and the largest, multipliers at their ends, ReLU and
    signed outputs, a partial output tile), zeros, and a small conv."""
    cases = []
    s = shape
    mult_top = 2 ** (s.mult_bits - 1)
    for select in (0, 1, 2):
        layer = random_layer(10 + select, s, sizes=(2 * s.inputs + 1,), selects=(select,))
        cases.append((f"one group select {select}", layer, random_input(10 + select, layer, 3)))
    layer = random_layer(20, s, sizes=(0, 5, 0, 3, 0), selects=(2, 1, 0, 2, 1), relu=False)
    cases.append(("empty groups", layer, random_input(20, layer, 3)))
    layer = random_layer(21, s, sizes=(1, 1, 6, 1), selects=(1, 2, 0, 2))
    cases.append(("groups of one channel", layer, random_input(21, layer, 3)))
    # saturating sums: every product at its extreme; the most channels whose up-scaled sum fits acc_bits
    top = 2 ** (s.acc_bits - 1) - 1
    biggest = 2 ** (s.w_bits - 1) * (2**s.a_bits - 1)
    channels = max(1, top // (biggest + (biggest >> s.n) + 1))
    for weight in ("min", "max"):
        for select in (0, 1, 2):
            layer = random_layer(30, s, sizes=(channels,), selects=(select,), weight=weight, relu=False, shift=0)
            layer = _with(layer, multiplier=torch.tensor([1, -1, 0] * s.outputs)[: s.outputs], bias=torch.zeros(s.outputs, dtype=torch.int64))
            cases.append((f"saturating {weight} select {select}", layer, random_input(30, layer, 1, fill="max")))
    # negative sums near multiples of 2^n: weights -2..1, activations 0..3
    layer = random_layer(40, s, sizes=(3, 2, 3), selects=(1, 2, 1), relu=False, shift=0)
    layer = _with(layer, weight=layer.weight.clamp(-2, 1), multiplier=torch.ones(s.outputs, dtype=torch.int64),
                  bias=torch.zeros(s.outputs, dtype=torch.int64))
    cases.append(("negative sums at the shift", layer, random_input(40, layer, 6).clamp(0, 3)))
    # requantization extremes
    for shift in (0, s.acc_bits + s.mult_bits):
        for relu in (True, False):
            layer = random_layer(50 + shift, s, sizes=(4, 4), relu=relu, shift=shift)
            ends = torch.tensor([mult_top - 1, -mult_top, 0, 1, -1][: s.outputs] + [mult_top - 1] * max(0, s.outputs - 5))
            bias_top = 2 ** (s.acc_bits + s.mult_bits - 1)
            bias = torch.tensor([bias_top - 1, -bias_top, 0, 2 ** max(shift - 1, 0), -1][: s.outputs] + [0] * max(0, s.outputs - 5))
            cases.append((f"requant shift {shift} relu {relu}", _with(layer, multiplier=ends, bias=bias),
                          random_input(50, layer, 4)))
    layer = random_layer(60, s, sizes=(3, 4), outputs=s.outputs + 2)
    cases.append(("partial output tile", layer, random_input(60, layer, 3)))
    cases.append(("zero activations", layer, random_input(61, layer, 2, fill="zero")))
    layer = random_layer(70, s, sizes=(2, 0, 1), conv=True, relu=False, shift=8)
    cases.append(("conv 3x3", layer, random_input(70, layer, 1, size=3)))
    return cases


def _with(layer, **changes):
    from dataclasses import replace

    return replace(layer, **changes)


async def corners(dut, grouped: bool) -> None:
    """Every corner layer, bit-exact, back to back, the cycle formula asserted."""
    bench = await PEBench(dut, grouped, seed=2).start()
    beats = 0
    for label, layer, x in _corner_layers(bench.shape):
        beats += bench.send(layer, x, label)
    await bench.finish(beats)
    bench.assert_cycle_formula()
    dut._log.info("%d corner jobs exact", len(bench.sent))


async def random_layers(dut, grouped: bool, count: int = 12) -> None:
    """Random layers (random group sizes, selects, ReLU, shifts), bit-exact, cycle formula asserted."""
    bench = await PEBench(dut, grouped, seed=3).start()
    rng = random.Random(3)
    beats = 0
    for k in range(count):
        sizes = tuple(rng.choice([0, 1, 2, 3, bench.shape.inputs, 2 * bench.shape.inputs + 1]) for _ in range(rng.randint(1, 5)))
        if sum(sizes) == 0:
            sizes = sizes + (1,)
        layer = random_layer(100 + k, bench.shape, sizes=sizes, relu=rng.random() < 0.5, shift=rng.randint(6, 14),
                             outputs=rng.randint(1, 2 * bench.shape.outputs))
        beats += bench.send(layer, random_input(100 + k, layer, 3), f"random {k} sizes {sizes}")
    await bench.finish(beats)
    bench.assert_cycle_formula()


async def backpressure_and_reset(dut, grouped: bool) -> None:
    """Random gaps on both inputs and random ready drops on the output, with jobs long and short (one
    beat: the stalls reach the input); then resets in the middle of
    a job (after 1, 2, 4 beats and before its last: inside the first group, at its end, with D2
    holding two groups and D1 a part of the third, just before the end): nothing of the interrupted
    job comes out, and the next jobs are exact."""
    bench = await PEBench(dut, grouped, seed=4, gap=0.3, drop=0.4).start()
    s = bench.shape
    layer = random_layer(200, s, sizes=(2 * s.inputs, 1, 3 * s.inputs, 3), selects=(1, 2, 0, 1), relu=False)
    beats = bench.send(layer, random_input(200, layer, 6), "under back-pressure")
    # short jobs (one beat; two one-beat groups) end faster than the stalled output drains: the
    # pipeline fills up to the accumulator and the input
    for k, sizes in enumerate(((s.inputs,), (1, 2))):
        short = random_layer(210 + k, s, sizes=sizes, selects=(2,) * len(sizes))
        beats += bench.send(short, random_input(210 + k, short, 40), f"short jobs {sizes}")
    await bench.finish(beats)
    per_job = beats_per_job(layer, s.inputs, grouped)
    assert per_job >= 5
    for k, after in enumerate((1, 2, 4, per_job - 1)):
        bench.taken.clear()
        bench.send(layer, random_input(300 + k, layer, 1), f"interrupted {k}")
        await bench.tb.until(lambda: bench.taken.count() >= after, 2000, f"{after} beats taken")
        await bench.reset()
        beats = bench.send(layer, random_input(400 + k, layer, 2), f"after reset {k}")
        await bench.finish(beats)


async def three_groups_cycles(dut, grouped: bool) -> None:
    """The overhead measurement: a layer of three groups of ``2 * inputs`` channels (no padding) and
    one of three uneven groups, many jobs back to back; cycles per job recorded (and asserted)."""
    bench = await PEBench(dut, grouped, seed=5).start()
    s = bench.shape
    figures = {}
    for name, sizes in (("even", (2 * s.inputs,) * 3), ("uneven", (s.inputs // 2 + 1, s.inputs, s.inputs + s.inputs // 2 - 1))):
        bench.count_from_here()
        layer = random_layer(500, s, sizes=sizes, selects=(1, 0, 2))
        x = random_input(500, layer, 16)
        beats = bench.send(layer, x, name)
        await bench.finish(beats)
        measured = bench.assert_cycle_formula()
        jobs_count = len(bench.sent)
        per_job = beats_per_job(layer, s.inputs, grouped)
        # steady state: jobs back to back, one every per_job cycles; the last output after latency
        assert measured["cycles"] == jobs_count * per_job + bench.latency, measured
        figures[name] = {"group_sizes": list(sizes), "jobs": jobs_count, "cycles": measured["cycles"],
                         "cycles_per_job": per_job, "latency": bench.latency}
    record_figures("waps_three_groups", _design(grouped), bench.params, figures)

