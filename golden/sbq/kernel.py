"""The SBQ matrix product ``dot_matrix``: the integer core of an SBQ layer, with two backends.

``"torch"`` runs :func:`golden.sbq.model.lane_steps` over every row, output and lane at once;
``"c"`` is the loop of :func:`golden.sbq.model.dot_reference` over the same lookup tables in
``kernel.c``, about two orders of magnitude faster. Both are tested equal to the reference.

The C source is compiled on first use (OpenMP when the compiler supports it) into
``<repo>/build/golden/sbq_kernel-<hash of the source>.so``, or a temporary folder when that one
cannot be written. The library is written to a process-specific temporary name and then renamed,
so several processes (pytest-xdist workers) may build it at the same time.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import torch

from .model import budget_tables, check_dot_params, check_operands, lane_steps, pad_lanes

__all__ = ["dot_matrix"]

KERNEL_SOURCE = Path(__file__).with_name("kernel.c")
BUILD_DIR = Path(__file__).resolve().parents[2] / "build" / "golden"
KERNEL_MAX_DEPTH = 64  # MAX_DEPTH of kernel.c: its queue lives on the stack


@lru_cache(maxsize=1)
def _kernel():
    """The compiled C kernel, or ``None`` when no C compiler is available.

    Built once per source version; ``QACCEL_SBQ_KERNEL=0`` disables it.
    """
    if os.environ.get("QACCEL_SBQ_KERNEL", "1") == "0":
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source = KERNEL_SOURCE.read_bytes()
    tag = hashlib.sha256(source).hexdigest()[:16]
    folder = BUILD_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "qaccel-golden"
        folder.mkdir(parents=True, exist_ok=True)
    library = folder / f"sbq_kernel-{tag}.so"
    if not library.exists():
        partial = library.with_suffix(f".{os.getpid()}.tmp")
        base = [compiler, "-O3", "-shared", "-fPIC", "-o", str(partial), str(KERNEL_SOURCE)]
        for flags in (["-fopenmp"], []):
            if subprocess.run(base + flags, capture_output=True).returncode == 0:
                break
        else:
            return None
        partial.replace(library)
    lib = ctypes.CDLL(str(library))
    lib.sbq_dot_matrix.restype = None
    lib.sbq_dot_matrix.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_int64] * 6 + [ctypes.c_void_p] * 5
    return lib


def _dot_matrix_kernel(lib, a, w, budget, comp, depth, lanes):
    computed, offered, n_offered, spare = budget_tables(budget, comp)
    a8 = a.to(torch.int8).contiguous()
    w8 = w.to(torch.int8).contiguous()
    out = torch.empty(a.shape[0], w.shape[0], dtype=torch.int64)
    offered = offered if comp else torch.zeros(65536, 1, dtype=torch.int32)
    lib.sbq_dot_matrix(
        a8.data_ptr(), w8.data_ptr(), a.shape[0], w.shape[0], a.shape[1], lanes,
        max(comp, 1), depth if comp else 0,
        computed.data_ptr(), offered.data_ptr(), n_offered.data_ptr(), spare.data_ptr(), out.data_ptr(),
    )
    return out


def dot_matrix(a, w, budget: int, comp: int, depth: int, lanes: int = 16, backend: str = "auto",
               chunk: int = 1 << 22) -> torch.Tensor:
    """SBQ matrix product: ``a`` ``[N, L]`` by ``w`` ``[O, L]`` -> int64 ``[N, O]``.

    The integer core of an SBQ Linear/Conv layer. ``backend``: ``"torch"`` (vectorized over rows,
    outputs and lanes, sequential over the ``L / lanes`` steps, in chunks of about ``chunk``
    multiplications), ``"c"`` (the compiled kernel, about two orders of magnitude faster), or
    ``"auto"`` (the kernel when a C compiler is available). Both are tested equal to
    :func:`golden.sbq.model.dot_reference`.
    """
    check_dot_params(budget, comp, depth, lanes)
    if backend not in ("auto", "torch", "c"):
        raise ValueError(f"backend must be 'auto', 'torch' or 'c', got {backend!r}")
    a, w = check_operands(a, "a"), check_operands(w, "w")
    if a.dim() != 2 or w.dim() != 2 or a.shape[1] != w.shape[1]:
        raise ValueError(f"expected a [N, L] and w [O, L], got {tuple(a.shape)} and {tuple(w.shape)}")
    lib = _kernel() if backend in ("auto", "c") and depth <= KERNEL_MAX_DEPTH else None
    if backend == "c" and lib is None:
        raise RuntimeError("the C kernel is unavailable (no C compiler, or depth > 64)")
    if lib is not None:
        return _dot_matrix_kernel(lib, a, w, budget, comp, depth, lanes)
    rows = max(1, chunk // max(1, w.shape[0] * lanes))
    wi = pad_lanes(w + 128, lanes, 128)  # [O, steps, lanes]; index = (a + 128) * 256 + (w + 128)
    ai = pad_lanes((a + 128) * 256, lanes, 128 * 256)  # [N, steps, lanes]
    out = [
        lane_steps(ai[start : start + rows, None] + wi[None], budget, comp, depth)
        for start in range(0, a.shape[0], rows)
    ]
    return torch.cat(out) if out else torch.zeros(0, w.shape[0], dtype=torch.int64)
