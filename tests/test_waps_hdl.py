# amaranth: UnusedElaboratable=no
"""WAPS RTL parameters (keyword-only, validated once, messages pinned), the registered designs, and
the beat layout of the offline layout (``sim.waps.cases``) against the golden model."""

import pytest
import torch

from golden.waps import forward
from hdl.waps import DESIGNS, GroupAccumulator, GroupScaler, MacArray, MacPE, Requantizer, WapsPE
from hdl.waps.layouts import beat_layout, sum_bits
from sim.waps.cases import Shape, baseline, beats_per_job, jobs, random_input, random_layer


def test_designs():
    assert [d.name for d in DESIGNS] == ["waps_pe", "mac_pe"]
    for design in DESIGNS:
        component, values = design.build({"inputs": 2, "outputs": 2})
        assert values["inputs"] == 2 and component.inputs == 2


@pytest.mark.parametrize("cls,kwargs,error,message", [
    (WapsPE, {"inputs": 0}, ValueError, "inputs must be in 1..64"),
    (WapsPE, {"outputs": 65}, ValueError, "outputs must be in 1..64"),
    (WapsPE, {"w_bits": 1}, ValueError, "w_bits must be in 2..8"),
    (WapsPE, {"a_bits": 9}, ValueError, "a_bits must be in 1..8"),
    (WapsPE, {"n": 17}, ValueError, "n must be in 1..16"),
    (WapsPE, {"acc_bits": 11}, ValueError, "acc_bits must be in 12..48"),
    (MacPE, {"mult_bits": 1}, ValueError, "mult_bits must be in 2..32"),
    (MacPE, {"out_bits": 0}, ValueError, "out_bits must be in 1..16"),
    (MacPE, {"inputs": 4.0}, TypeError, "inputs must be an integer"),
    (MacArray, {"grouped": 1}, TypeError, "grouped must be a bool"),
    (GroupScaler, {"width": 1}, ValueError, "width must be in 2..64"),
    (GroupScaler, {"n": True}, TypeError, "n must be an integer"),
    (GroupAccumulator, {"sum_width": 12, "acc_bits": 11}, ValueError, "acc_bits must be in 12..64"),
    (Requantizer, {"acc_bits": 49}, ValueError, "acc_bits must be in 2..48"),
])
def test_parameters(cls, kwargs, error, message):
    with pytest.raises(error, match=message):
        cls(**kwargs)


def test_keyword_only():
    with pytest.raises(TypeError):
        WapsPE(16)


def test_widths():
    assert sum_bits(16, 4, 4) == 12 and sum_bits(1, 4, 4) == 8
    assert WapsPE().sum_width == 12
    assert WapsPE.LATENCY == MacPE.LATENCY + 1 == 1 + 2 + Requantizer.LATENCY
    layout = beat_layout(4, 3, 4, 4, grouped=True)
    assert layout.size == 4 * 4 + 3 * 4 * 4 + 2 + 1 + 1


SHAPE = Shape(inputs=4, outputs=3, w_bits=4, a_bits=4, n=4, acc_bits=12, mult_bits=10, out_bits=4)


@pytest.mark.parametrize("conv", [False, True])
def test_layout_recomputes_the_layer(conv):
    """Summing the laid-out beats per group, scaling and requantizing gives golden.waps.forward: the
    layout loses and duplicates no product (groups padded, empty groups skipped, tiles padded)."""
    layer = random_layer(5, SHAPE, sizes=(3, 0, 5, 1), outputs=5, conv=conv)
    x = random_input(5, layer, 2, size=3)
    for grouped in (True, False):
        laid = jobs(layer, x, SHAPE, grouped=grouped)
        per_job = beats_per_job(layer, SHAPE.inputs, grouped)
        assert {len(job.beats) for job in laid} == {per_job}
        assert per_job == (sum(-(-s * (9 if conv else 1) // 4) for s in (3, 5, 1)) if grouped else -(-9 * (9 if conv else 1) // 4))
        want = forward(layer if grouped else baseline(layer), x)
        got = []
        for job in laid:
            total, group = [0] * SHAPE.outputs, [0] * SHAPE.outputs
            for beat in job.beats:
                for o in range(SHAPE.outputs):
                    group[o] += sum(w * a for w, a in zip(beat["w"][o], beat["x"]))
                if not grouped or beat["group_end"] or beat["last"]:
                    select = beat.get("select", 0)
                    for o in range(SHAPE.outputs):
                        s = group[o]
                        total[o] += s if select == 0 else (s - (s >> 4) if select == 1 else s + (s >> 4))
                    group = [0] * SHAPE.outputs
            cmd = job.cmd
            y = [min(15, max(0, (t * m + b) >> cmd["shift"])) if cmd["relu"] else
                 min(7, max(-8, (t * m + b) >> cmd["shift"])) for t, m, b in zip(total, cmd["multiplier"], cmd["bias"])]
            assert y == job.want
            got.append(job.want)
        tiles = torch.tensor(got).reshape(2, -1, 2, 3)  # sample, position, tile, output
        assert torch.equal(tiles.reshape(2, -1, 6)[:, :, :5].permute(0, 2, 1).reshape(want.shape), want)


def test_layout_refuses_what_does_not_fit():
    layer = random_layer(6, SHAPE, sizes=(40,), weight="min", selects=(2,))
    with pytest.raises(ValueError, match="beyond signed 12 bits"):
        jobs(layer, random_input(6, layer, 1, fill="max"), SHAPE)
