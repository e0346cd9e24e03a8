"""The SBQ matrix product ``dot_matrix``: the integer core of an SBQ layer, with two backends.

``"torch"`` runs :func:`golden.sbq.model.lane_steps` over every row, output and lane at once;
``"c"`` is the table-driven kernel of ``kernel.c``: one table row per (a, w) operand pair
(:func:`lane_table`, 4,096 rows for W4A8), each lane's queue reduced to its fill and prefix sums,
eight outputs per AVX2 vector (a scalar twin without AVX2), OpenMP over the cores; docs/sbq.md
("The table-driven kernel") gives the derivation. Both are tested equal to
:func:`golden.sbq.model.dot_reference`.

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

import numpy as np
import torch

from .model import budget_tables, check_dot_params, check_operands, lane_steps, pad_lanes

__all__ = ["dot_matrix"]

KERNEL_SOURCE = Path(__file__).with_name("kernel.c")
BUILD_DIR = Path(__file__).resolve().parents[2] / "build" / "golden"


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
    lib.sbq_avx2_available.restype = ctypes.c_int
    lib.sbq_table_matrix.restype = ctypes.c_int
    lib.sbq_table_matrix.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_int64] * 7 + [ctypes.c_void_p] + [ctypes.c_int64] * 2 + [ctypes.c_void_p]
    return lib


#: Largest subset sum of one int8 x int8 multiplication's term pairs in magnitude (docs/sbq.md,
#: "Result width"; tests/test_sbq_bounds.py): the popped values of one lane sum to at most this much
#: per multiplication, so the kernel's 32-bit queue sums are exact up to this many steps per lane.
PAIR_SUBSET_BOUND = 20353
KERNEL_MAX_STEPS = (2**31 - 1) // PAIR_SUBSET_BOUND


def table_wbits(w: torch.Tensor) -> int:
    """4 when every weight lies in the int4 range (the 4,096-entry table), else 8."""
    values = w.numpy()  # numpy, not torch: see table_matrix
    return 4 if values.size == 0 or (int(values.min()) >= -8 and int(values.max()) <= 7) else 8


@lru_cache(maxsize=16)
def lane_table(budget: int, comp: int, wbits: int) -> tuple[torch.Tensor, int]:
    """The kernel's table, one int32 row per (a, w) operand pair, ``[256 * 2**wbits, 2 + ceff]``,
    and ``ceff``, the most pairs any multiplication offers to the queue (at most ``comp``).

    Row ``(a + 128) * 2**wbits + (w + 2**(wbits-1))`` holds, from the ranked term pairs of ``a * w``
    (:func:`golden.sbq.model.rank_pairs`, ``n`` pairs): ``computed * 65536 + (delta & 0xffff)``,
    where ``computed`` is the sum of the first ``budget`` pairs and ``delta`` the pairs offered to
    the queue (``min(comp, n - budget)`` when ``n > budget``) or minus the spare cycles
    (``n - budget`` when ``n < budget``); then the sums of the first ``p`` offered pair values,
    ``p = 0..ceff``. W4A8 has 4,096 rows, W8A8 65,536.
    """
    if wbits not in (4, 8):
        raise ValueError(f"wbits must be 4 or 8, got {wbits!r}")
    computed, offered, n_offered, spare = budget_tables(budget, comp)
    half = 1 << (wbits - 1)
    w = torch.arange(-half, half)
    a = torch.arange(-128, 128)
    rows = ((a[:, None] + 128) * 256 + (w[None, :] + 128)).reshape(-1)
    n_off = n_offered[rows].to(torch.int64) if comp else torch.zeros(rows.numel(), dtype=torch.int64)
    ceff = int(n_off.max()) if comp else 0
    delta = n_off - spare[rows].to(torch.int64)
    table = torch.zeros(rows.numel(), 2 + ceff, dtype=torch.int64)
    table[:, 0] = computed[rows].to(torch.int64) * 65536 + (delta & 0xFFFF)
    if ceff:
        table[:, 2:] = offered[rows, :ceff].to(torch.int64).cumsum(-1)
    return table.to(torch.int32).contiguous(), ceff


GROUP = 8  # outputs per group in kernel.c (one AVX2 vector)


def _dot_matrix_kernel(lib, a, w, budget, comp, depth, lanes, simd=True, threads=0):
    wbits = table_wbits(w)
    table, ceff = lane_table(budget, comp, wbits)
    return table_matrix(lib, a, w, table, ceff, wbits, depth, lanes, simd, threads)


def table_matrix(lib, a, w, table, ceff, wbits, depth, lanes, simd=True, threads=0):
    """Run the kernel with any table of :func:`lane_table`'s layout (``ceff`` offered values at
    most) over integer operands ``a`` ``[N, L]`` (int8 range) and ``w`` ``[O, L]`` (within
    ``wbits``): ``[N, O]`` int64 sums over the lanes. ``simd`` False forces the scalar path,
    ``threads`` 1 one thread (0: all cores). The operands go to C as int8 through numpy: torch's own
    thread pool, spinning next to the kernel's, slowed small conversions down 100-fold on a busy
    machine."""
    a8 = np.ascontiguousarray(a.numpy(), dtype=np.int8)
    w8 = np.ascontiguousarray(w.numpy(), dtype=np.int8)
    out = np.empty((a8.shape[0], w8.shape[0]), dtype=np.int64)
    steps = -(-a8.shape[1] // lanes)
    status = lib.sbq_table_matrix(
        a8.ctypes.data, w8.ctypes.data, a8.shape[0], w8.shape[0], a8.shape[1], lanes, wbits, table.shape[1],
        min(depth, ceff * steps), table.data_ptr(), int(simd), int(threads), out.ctypes.data,
    )
    if status != 0:
        raise MemoryError("the SBQ kernel could not allocate its index arrays")
    return torch.from_numpy(out)


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
    steps = -(-a.shape[1] // lanes)
    lib = _kernel() if backend in ("auto", "c") and steps <= KERNEL_MAX_STEPS else None
    if backend == "c" and lib is None:
        raise RuntimeError(f"the C kernel is unavailable (no C compiler, or more than {KERNEL_MAX_STEPS} steps per lane)")
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
