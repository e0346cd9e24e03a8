"""cocotb testbench: the SBQ IPU on real W4A8 codes exported by ``golden.export`` (``SBQ_REAL_NPZ``).

For each layer of each file: ``SBQ_REAL_ROWS`` activation rows (evenly spaced over the exported
rows) times ``SBQ_REAL_CHANNELS`` output channels, every inner product over the layer's full
reduction length ``L``, compared bit for bit with ``golden.sbq.dot``.
"""

import os

import cocotb
import torch

from golden.export import load_npz
from golden.sbq import dot
from sim.sbq.tb_inner_product_unit import IPUBench


def _selection(path: str, rows: int, channels: int):
    for name, layer in load_npz(path).items():
        if name == "_meta":
            continue
        a = torch.from_numpy(layer["a_codes"].astype("int64"))
        w = torch.from_numpy(layer["w_codes"].astype("int64"))
        pick = torch.linspace(0, a.shape[0] - 1, min(rows, a.shape[0])).round().long().unique()
        yield name, a[pick], w[:channels], torch.from_numpy(layer["acc"].astype("int64"))[pick][:, :channels]


@cocotb.test()
async def real_tensors(dut):
    """Real exported layer codes: IPU result == golden.sbq.dot for every (row, channel)."""
    ipu = await IPUBench(dut, seed=31, gap=0.2, drop=0.2).start()
    p = ipu.params
    assert p["wbits"] == 4, "the exported tensors are W4A8"
    rows = int(os.environ.get("SBQ_REAL_ROWS", "4"))
    channels = int(os.environ.get("SBQ_REAL_CHANNELS", "4"))
    total = 0
    for path in os.environ["SBQ_REAL_NPZ"].split(os.pathsep):
        for name, a, w, acc in _selection(path, rows, channels):
            assert int(a.min()) >= -128 and int(a.max()) <= 127 and int(w.min()) >= -8 and int(w.max()) <= 7
            # The exported tensors are the ones whose exact products the file records (budget 16 = exact).
            assert torch.equal(dot(a[:, None, :], w[None, :, :], 16, 0, 1, ipu.lanes), acc), f"{name}: export mismatch"
            want = dot(a[:, None, :], w[None, :, :], p["budget"], p["comp"], p["depth"], ipu.lanes)
            products = [(f"{name} row {r} channel {c}", a[r].tolist(), w[c].tolist())
                        for r in range(a.shape[0]) for c in range(w.shape[0])]
            start = len(ipu.scoreboard.matched)
            await ipu.check(products, max_cycles=2_000_000)  # each result checked against golden.sbq.dot
            got = torch.tensor([t.value for t in ipu.scoreboard.matched[start:]]).reshape(want.shape)
            assert torch.equal(got, want), f"{name}: the scoreboard passed results that differ from the layer's dot"
            exact = int((want == acc).sum())
            dut._log.info("%s: %d inner products of length %d exact against golden.sbq.dot (%d equal the exact integer dot)",
                          name, want.numel(), a.shape[1], exact)
            total += want.numel()
    await ipu.scoreboard.finish(idle_cycles=8 * p["budget"] + ipu.lanes)
    assert total, "no inner product was checked"
