"""English evaluation sentences for ``minilm``, taken from text the Python installation ships.

Sources, in this order: the Python documentation topics of ``pydoc_data.topics`` (sorted by topic),
then the docstrings (module, class, function; ``ast``, nothing is imported) of the top-level
``*.py`` files of the standard library directory, sorted by file name. Each text is cut into
paragraphs and sentences; a sentence is kept when it has 6 to 40 words, starts with a capital
letter, ends with a period, contains no code-like characters (``( ) [ ] { } = _ < > | \\ / @ # $ %``
backquote, ``*``, ``::=``, ``>>>``, ``...``, ``--``) and at least 97 % of its characters are letters,
spaces or ``,.'"-;:``. Duplicates are dropped (first occurrence kept). The pool is shuffled with
``random.Random(0)``; the first 128 sentences are the calibration split, the next 1024 the
evaluation split. The set depends on the Python version (the stdlib text changes between
releases), so results record the Python version and the SHA-256 of the evaluation split.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import random
import re
import sys
import sysconfig
from pathlib import Path

N_CALIB = 128
N_EVAL = 1024
SEED = 0

_CODE = re.compile(r"::=|>>>|\(|\)|[{}\[\]=_<>|\\/@#$%`]|\.\.\.|\*|--")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"])")
_RULE = re.compile(r"[*=\-~^]+")


def _sentences(text: str):
    for para in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in para.split("\n")]
        if any(line and _RULE.fullmatch(line) for line in lines):  # headings
            continue
        para = re.sub(r"^[*\-]\s+", "", " ".join(lines))
        for s in _SPLIT.split(para):
            if not 6 <= len(s.split()) <= 40 or not re.match(r"[A-Z]", s) or not s.endswith("."):
                continue
            if _CODE.search(s) or re.search(r"e\.g\.|i\.e\.", s):
                continue
            if sum(c.isalpha() or c in " ,.'\"-;:" for c in s) < 0.97 * len(s):
                continue
            yield s


def _pool() -> list[str]:
    import pydoc_data.topics

    out = [s for key in sorted(pydoc_data.topics.topics) for s in _sentences(pydoc_data.topics.topics[key])]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    out.extend(_sentences(doc))
    return list(dict.fromkeys(out))


@functools.lru_cache(maxsize=1)
def splits() -> dict[str, list[str]]:
    """``{"calib": [...128], "eval": [...1024]}``, fixed for a given Python version."""
    pool = _pool()
    if len(pool) < N_CALIB + N_EVAL:
        raise RuntimeError(f"only {len(pool)} sentences found, need {N_CALIB + N_EVAL}")
    random.Random(SEED).shuffle(pool)
    return {"calib": pool[:N_CALIB], "eval": pool[N_CALIB : N_CALIB + N_EVAL]}


def describe() -> dict:
    s = splits()
    digest = hashlib.sha256("\n".join(s["eval"]).encode()).hexdigest()
    return {
        "source": "pydoc_data.topics + stdlib top-level module docstrings (golden/models/sentences.py)",
        "python": sys.version.split()[0],
        "calib": len(s["calib"]),
        "eval": len(s["eval"]),
        "eval_sha256": digest,
    }
