"""The shared harness reports failures (with the log and, with --waves, the waveform) and keeps
waveforms only for failing runs."""

from pathlib import Path

import pytest

from sim.harness import BenchFailure, run_bench

BENCH = "sim.tb_harness_selftest"


def _waves_in(folder: str) -> list[Path]:
    return [p for p in Path(folder).iterdir() if p.suffix in (".fst", ".vcd")]


def test_failing_bench_raises_with_log_and_waveform(simulator):
    with pytest.raises(BenchFailure) as failure:
        run_bench("sbq_encoder", {"bits": 4}, BENCH, simulator, waves=True, extra_env={"SELFTEST_FAIL": "1"})
    message = str(failure.value)
    assert "1 of 1 cocotb tests failed" in message
    assert "failing on request" in message  # the tail of the cocotb log
    wave = Path(message.split("waveform: ", 1)[1].splitlines()[0])
    assert wave.exists() and wave.stat().st_size > 0


def test_passing_bench_leaves_no_waveform(simulator):
    result = run_bench("sbq_encoder", {"bits": 4}, BENCH, simulator, waves=True)
    assert result["tests"] == 1
    assert _waves_in(result["build_dir"]) == []
