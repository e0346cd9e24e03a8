"""pytest entry: the SBQ inner product unit on both simulators, several parameter sets."""

import fcntl
import os
from pathlib import Path

import pytest

from sim.harness import ROOT, missing_reason, run_bench

BENCH = "sim.sbq.tb_inner_product_unit"
FAST = [
    {"lanes": 4, "budget": 4, "comp": 4, "depth": 4, "wbits": 4},
    {"lanes": 3, "budget": 3, "comp": 1, "depth": 2, "wbits": 8},
]
SLOW = [
    {"lanes": 4, "budget": 2, "comp": 2, "depth": 4, "wbits": 8},
    {"lanes": 16, "budget": 4, "comp": 4, "depth": 4, "wbits": 4},
    {"lanes": 16, "budget": 4, "comp": 4, "depth": 4, "wbits": 8},
    {"lanes": 1, "budget": 1, "comp": 1, "depth": 1, "wbits": 8},
    {"lanes": 5, "budget": 5, "comp": 0, "depth": 3, "wbits": 4},
]


#: The cocotb tests of every parameter set; ``longest_inner_product`` (L = 65535) runs in the default
#: run on the 16-lane set only (4096 transfers), and on every slow set.
SHORT = ["corner_cases", "random_with_backpressure", "aggregation_stalls", "reset_mid_inner_product", "throughput",
         "stall_in_last_cycle"]


def _id(p):
    return "lanes{lanes}B{budget}C{comp}D{depth}w{wbits}".format(**p)


@pytest.mark.parametrize("params", FAST, ids=_id)
def test_inner_product_unit(simulator, params, waves):
    result = run_bench("sbq_ipu", params, BENCH, simulator, waves=waves, testcase=SHORT)
    assert result["tests"] == len(SHORT)


#: The default 16-lane unit (the design's defaults) in the default run: the cocotb tests that need 16
#: lanes (natural aggregation stalls for N < 3 transfers, a 16-stage chain, L = 65535 at 4096 per lane).
LANES16 = {"lanes": 16, "budget": 4, "comp": 4, "depth": 4, "wbits": 4}
LANES16_TESTS = ["corner_cases", "throughput", "stall_in_last_cycle", "longest_inner_product"]


#: Icarus in the default run; Verilator only with -m slow, since its build of 16 lanes takes minutes
#: of CPU (the simulation itself is 6 s). ``--sim`` still chooses among them.
@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
@pytest.mark.parametrize("params", [LANES16], ids=_id)
def test_inner_product_unit_16_lanes(sim, params, waves, request):
    if request.config.getoption("--sim") not in ("both", sim):
        pytest.skip(f"--sim {request.config.getoption('--sim')}")
    if missing_reason(sim) is not None:
        pytest.skip(missing_reason(sim))
    result = run_bench("sbq_ipu", params, BENCH, sim, waves=waves, testcase=LANES16_TESTS)
    assert result["tests"] == len(LANES16_TESTS)


@pytest.mark.slow
@pytest.mark.parametrize("params", SLOW, ids=_id)
def test_inner_product_unit_more_params(simulator, params, waves):
    result = run_bench("sbq_ipu", params, BENCH, simulator, waves=waves, extra_env={"SBQ_IPU_PRODUCTS": "100"})
    assert result["tests"] == len(SHORT) + 1


REAL_LAYERS = [("digits_cnn", "block1.a.conv"), ("minilm", "bert.encoder.layer.0.attention.self.query")]


def _export(model: str, layer: str) -> Path:
    """The layer's W4A8 codes, exported once into build/sim/export/ (the export is deterministic;
    a lock keeps two pytest workers from writing it at once)."""
    from golden.export import export_layers, save_npz

    path = ROOT / "build" / "sim" / "export" / f"{model}_{layer}_w4a8.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
            save_npz(export_layers(model, "w4a8", [layer], rows=16, limit=16), partial)
            partial.replace(path)
    return path


@pytest.mark.parametrize("params", [FAST[0]], ids=_id)
def test_inner_product_unit_real_tensors(simulator, params, waves):
    """Real W4A8 codes of a digits_cnn conv and a MiniLM Linear layer (4 rows x 4 channels each)."""
    paths = [str(_export(model, layer)) for model, layer in REAL_LAYERS]
    result = run_bench("sbq_ipu", params, "sim.sbq.tb_ipu_real_tensors", simulator, waves=waves,
                       extra_env={"SBQ_REAL_NPZ": os.pathsep.join(paths)})
    assert result["tests"] == 1
