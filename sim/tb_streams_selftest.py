"""cocotb module for the self-test of ``sim.streams`` on a real design (``sbq_lane``, any parameters):
the scoreboard must fail on a wrong, extra, missing and late transfer, and pause generators must
make gaps on a source and drop a sink's ready."""

import cocotb
from amaranth.hdl import signed

from hdl.sbq.compute_lane import mult_layout, sum_width
from sim.harness import bench_params
from sim.streams import Scoreboard, ScoreboardError, Testbench

PRODUCT = [(3, 2), (-5, 1)]  # 3*2 + -5*1 = 1, exact for B >= 2 (the pairs: 3*2; -8*1 and 3*1)


async def _lane(dut, source_pauses=None, sink_pauses=None):
    params = bench_params()
    tb = Testbench(dut)
    await tb.start()
    dut.hold.value = 0
    layout = mult_layout(params["wbits"])
    source = tb.source("mult", source_pauses)
    monitor = tb.monitor("mult", layout)
    sink = tb.sink("result", signed(sum_width(65535, params["wbits"])), sink_pauses)
    await tb.reset()
    return tb, layout, source, monitor, sink


def _send(source, layout, product=PRODUCT):
    for k, (a, w) in enumerate(product):
        source.send_nowait(layout.const({"a": a, "w": w, "last": int(k == len(product) - 1)}))


async def _raises(awaitable, text):
    try:
        await awaitable
    except ScoreboardError as error:
        assert text in str(error), f"expected {text!r} in {error}"
        return str(error)
    raise AssertionError(f"the scoreboard did not fail (expected {text!r})")


@cocotb.test()
async def right_transfer_passes(dut):
    tb, layout, source, _, sink = await _lane(dut)
    board = Scoreboard(sink)
    _send(source, layout)
    board.expect(1, label="3*2 - 5*1")
    await board.wait(200)
    await board.finish(idle_cycles=20)
    assert [t.value for t in board.matched] == [1]


@cocotb.test()
async def wrong_transfer_fails(dut):
    tb, layout, source, _, sink = await _lane(dut)
    board = Scoreboard(sink)
    _send(source, layout)
    board.expect(2, label="deliberately wrong")
    await _raises(board.wait(200), "deliberately wrong: got 1, expected 2")


@cocotb.test()
async def extra_transfer_fails(dut):
    tb, layout, source, _, sink = await _lane(dut)
    board = Scoreboard(sink)
    _send(source, layout)
    _send(source, layout)
    board.expect(1)
    await board.wait(200)
    await _raises(board.finish(idle_cycles=100), "extra transfer 1")


@cocotb.test()
async def missing_transfer_fails(dut):
    tb, layout, source, _, sink = await _lane(dut)
    board = Scoreboard(sink)
    _send(source, layout)
    board.expect(1)
    board.expect(1, label="never sent")
    await _raises(board.wait(200), "1 expected transfers missing after 200 cycles; next: never sent")
    await _raises(board.finish(), "1 expected transfers never came; first: never sent")


@cocotb.test()
async def late_transfer_fails(dut):
    tb, layout, source, _, sink = await _lane(dut)
    board = Scoreboard(sink)
    _send(source, layout)
    board.expect(1, label="due at once", deadline=tb.cycle() + 1)
    await _raises(board.wait(200), "due at once: arrived at cycle")


@cocotb.test()
async def pause_generators_make_gaps_and_drop_ready(dut):
    """A source paused in every cycle never transfers; once unpaused it sends; a sink that is never
    ready leaves the result in the lane until it is unpaused."""
    budget = bench_params()["budget"]
    tb, layout, source, monitor, sink = await _lane(dut, source_pauses=iter([True] * 10000),
                                                     sink_pauses=iter([True] * 10000))
    board = Scoreboard(sink)
    _send(source, layout)
    board.expect(1)
    await _raises(board.wait(300), "missing after 300 cycles")
    assert monitor.count() == 0, "a source paused in every cycle transferred"
    assert int(dut.result__valid.value) in (0, 1)
    source.set_pause_generator(None)
    source.pause = False
    await tb.cycles(10 * budget)
    assert monitor.count() == 2, f"the unpaused source sent {monitor.count()} of 2 multiplications"
    await tb.cycles(10 * budget)
    assert int(dut.result__valid.value) == 1 and int(dut.result__ready.value) == 0, "the paused sink took the result"
    sink.set_pause_generator(None)
    sink.pause = False
    await board.wait(50)
    await board.finish(idle_cycles=10)
