"""The project's layout rules, checked on the source tree.

* Imports run one way: no cycle among the project's modules, counting the imports inside functions
  and the collectors' importlib look-ups of ``<layer>.<acc>``; ``hdl/`` and ``golden/`` never import
  each other; ``qaccel`` imports nothing of the project.
* Every accelerator of the table lives in all its places, and every registered design has a
  testbench, a docs page that names it, and a cost entry in its results file.
* The repository stands on its own: nothing cites the semantics page or paper files that only the
  developers' workspace has.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from hdl.registry import designs
from qaccel import ACCELERATORS
from sim.benches import benches

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("qaccel", "hdl", "golden", "sim", "bench", "boards")
#: Collector module -> the layer whose ``<layer>.<acc>`` it imports for every accelerator.
COLLECTORS = {"hdl.registry": "hdl", "golden.schemes": "golden", "sim.benches": "sim", "bench.cost": "bench"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that ``name`` imports anywhere in its file."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                targets.add(full if full in known else base)
    return {t for t in targets if t in known and t != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    for collector, layer in COLLECTORS.items():
        graph[collector] |= {f"{layer}.{acc}" for acc in ACCELERATORS}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_imports_form_no_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_hdl_and_golden_never_import_each_other_and_qaccel_imports_nothing_of_ours():
    graph = _graph()
    for module, targets in graph.items():
        layer = module.split(".")[0]
        other = {t.split(".")[0] for t in targets}
        if layer == "hdl":
            assert "golden" not in other, f"{module} imports golden: {sorted(targets)}"
        if layer == "golden":
            assert "hdl" not in other, f"{module} imports hdl: {sorted(targets)}"
        if layer == "qaccel":
            assert other <= {"qaccel"}, f"{module} imports {sorted(targets)}"


@pytest.mark.parametrize("acc", ACCELERATORS)
def test_every_accelerator_lives_in_all_its_places(acc):
    for place in (f"golden/{acc}/__init__.py", f"hdl/{acc}/__init__.py", f"sim/{acc}/__init__.py",
                  f"bench/{acc}/__init__.py", f"docs/{acc}.md", f"docs/results/{acc}.json"):
        assert (ROOT / place).exists(), f"{acc}: {place} is missing (see docs/adding_an_accelerator.md)"


@pytest.mark.parametrize("name", list(designs()))
def test_every_design_has_a_bench_a_docs_page_and_a_cost_entry(name):
    design = designs()[name]
    assert name in benches(), f"{name} has no testbench in sim/{design.accelerator}/__init__.py BENCHES"
    page = ROOT / "docs" / f"{design.accelerator}.md"
    assert re.search(rf"`{name}`", page.read_text()), f"{page.name} does not document `{name}`"
    results = json.loads((ROOT / "docs" / "results" / f"{design.accelerator}.json").read_text())
    parts = results.get("cost", {}).get("data", {}).get("parts", {})
    assert any(part.get("design") == name for part in parts.values()), \
        f"docs/results/{design.accelerator}.json has no cost entry for {name} (python -m bench.cost {design.accelerator})"


def _tracked_text_files():
    for path in ROOT.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".c", ".toml", ".cfg", ".txt") \
                and not any(part.startswith(".") or part in ("build", "__pycache__") for part in path.relative_to(ROOT).parts):
            yield path


def test_nothing_cites_files_outside_the_repository():
    pattern = re.compile(r"SPEC\.md|\.\./shared|papers/[\w-]+\.txt|\b(sbq|edqa|waps-quant|hap-dac26-poster)\.txt\b")
    offenders = []
    for path in _tracked_text_files():
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not offenders, "cites files a clone does not have:\n" + "\n".join(offenders)
