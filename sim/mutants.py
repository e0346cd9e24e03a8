"""Planted bugs: shows that an accelerator's default tests can fail, one realistic RTL bug at a time.

    python -m sim.mutants ACC [--sim icarus] [--jobs 2] [--first] [--only NAME ...] [-o docs/results/ACC.json] [--section mutants]

``sim/<acc>/mutants.py`` declares ``MUTANTS``: :class:`sim.mutant.Mutant` entries, each one textual change to
one file (the exact text to find, once, and its replacement) and what it stands for. For every
mutant, in a scratch copy of the repository (the files git tracks or would track; the working tree
is never touched), the runner applies the change and runs the accelerator's default tests
(``pytest sim/<acc> -m 'not slow'`` on one simulator), recording which tests failed. With ``--first``
each run stops at its first failing test (``pytest -x``): a caught mutant then costs minutes instead
of the whole default run, and its record names the tests that failed before the stop, not all
that would (``first_failure_only``); a surviving mutant still runs every test. A mutant that
no test catches *survives*: the command then exits 1. A change that no longer applies (its text is
gone or not unique) is an error, so the list cannot silently go stale.

The results go to section ``mutants`` of ``docs/results/<acc>.json`` (``caught``, ``survived`` and,
per mutant, the failing tests and the seconds taken), the table printed on the way. With ``--only``
the named mutants are run again and the others keep the results the section holds.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from sim.mutant import Mutant, apply

ROOT = Path(__file__).resolve().parent.parent
PROG = "python -m sim.mutants"
#: Wall-clock limit of one mutant's test run (the default run takes minutes).
TIMEOUT_S = 1800

__all__ = ["main", "run_mutant"]


def _copy_repository(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _failed_tests(report: Path) -> list[str]:
    if not report.exists():
        return []
    failed = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}")
    return sorted(failed)


def run_mutant(mutant: Mutant, pristine: Path, work: Path, acc: str, simulator: str, jobs: int,
               first: bool = False) -> dict:
    """Run the default tests of ``acc`` in ``work`` with ``mutant`` applied to a fresh copy of its file
    (``first``: stop at the first failing test)."""
    target = work / mutant.path
    shutil.copy2(pristine / mutant.path, target)
    apply(mutant, work)
    report = work / "build" / "mutants" / f"{mutant.name}.xml"
    report.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", f"sim/{acc}", "-q", "-m", "not slow", "-n", str(jobs), "--sim", simulator,
             "-p", "no:cacheprovider", f"--junitxml={report}", *(["-x"] if first else [])],
            cwd=work, capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:  # a hang is caught too (CI would fail), but say so: tests should end
        shutil.copy2(pristine / mutant.path, target)
        return {"path": mutant.path, "bug": mutant.bug, "caught": True,
                "failed": [f"(the default run did not end within {TIMEOUT_S} s)"],
                "first_failure_only": first, "seconds": round(time.perf_counter() - start, 1)}
    shutil.copy2(pristine / mutant.path, target)
    failed = _failed_tests(report)
    # 2..5: pytest itself failed (collection, usage): not a catch. With -x, pytest-xdist ends a run it
    # stops as interrupted (2), so there a 2 with failing tests in the report is the catch.
    if result.returncode not in (0, 1) and not (first and result.returncode == 2 and failed):
        raise RuntimeError(f"mutant {mutant.name}: pytest exited {result.returncode}\n{result.stdout[-3000:]}")
    return {"path": mutant.path, "bug": mutant.bug, "caught": bool(failed), "failed": failed,
            "first_failure_only": first, "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("acc", help="accelerator (its sim/<acc>/mutants.py lists the planted bugs)")
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="icarus", help="simulator (default icarus)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="pytest workers (default: every core)")
    parser.add_argument("--first", action="store_true",
                        help="stop each run at its first failing test (pytest -x): faster, records fewer failing tests")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("-o", "--output", type=Path, help="results file (default docs/results/ACC.json)")
    parser.add_argument("--section", default="mutants", help="section of the results file (default mutants)")
    args = parser.parse_args(argv)
    try:
        mutants = importlib.import_module(f"sim.{args.acc}.mutants").MUTANTS
    except ModuleNotFoundError:
        print(f"error: no planted bugs for {args.acc!r} (sim/{args.acc}/mutants.py)", file=sys.stderr)
        return 2
    names = [m.name for m in mutants]
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        print(f"error: unknown mutant {unknown[0]!r} (mutants: {', '.join(names)})", file=sys.stderr)
        return 2
    chosen = [m for m in mutants if not args.only or m.name in args.only]
    from tqdm import tqdm

    from qaccel.results import command_line, package_versions, section, write_section

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="qaccel-mutants-") as temp:
        pristine, work = Path(temp) / "pristine", Path(temp) / "work"
        _copy_repository(pristine)
        shutil.copytree(pristine, work)
        for mutant in chosen:  # every change must apply before anything runs
            found = (pristine / mutant.path).read_text().count(mutant.old)
            if found != 1:
                print(f"error: mutant {mutant.name}: its text occurs {found} times in {mutant.path}, not once",
                      file=sys.stderr)
                return 2
        bar = tqdm(chosen, desc=f"{args.acc} mutants", unit="mutant", file=sys.stderr)
        for mutant in bar:
            bar.set_postfix_str(mutant.name)
            results[mutant.name] = run_mutant(mutant, pristine, work, args.acc, args.sim, args.jobs, args.first)
            outcome = results[mutant.name]
            tqdm.write(f"{mutant.name}: {'caught by ' + str(len(outcome['failed'])) + ' tests' if outcome['caught'] else 'SURVIVED'}",
                       file=sys.stderr)
    output = args.output or ROOT / "docs" / "results" / f"{args.acc}.json"
    if args.only:  # the other mutants keep their recorded results
        from qaccel.results import read_section

        try:
            recorded = read_section(output, args.section)["data"]["mutants"]
        except (OSError, KeyError, ValueError):
            recorded = {}
        results = {m.name: results.get(m.name, recorded.get(m.name)) for m in mutants
                   if m.name in results or m.name in recorded}
    survived = [name for name, r in results.items() if not r["caught"]]
    write_section(output, args.section, section(
        command=command_line(PROG, argv), tools=package_versions("amaranth", "cocotb", "pytest"),
        config={"tests": f"pytest sim/{args.acc} -m 'not slow' --sim {args.sim}", "mutants": len(results)},
        data={"mutants": results, "caught": len(results) - len(survived), "survived": survived},
    ))
    print("| planted bug | default tests that failed |\n| --- | --- |")
    for name, r in results.items():
        print(f"| {r['bug']} | {len(r['failed'])}: {', '.join(r['failed']) if r['failed'] else 'none (survived)'} |")
    print(f"wrote section {args.section!r} of {output}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
