"""Algorithm 3 (greedy channel ranking) on small synthetic models; the batched minilm evaluator
against whole forward passes (slow)."""

import json

import pytest
import torch
from torch import nn

from golden import quant
from golden.edqa import ranking
from golden.edqa.layer import direct_fake_quant
from golden.edqa.ranking import FullForward, RankScheme, Ranking, rank_channels


def _signal_data(n=256, seed=0):
    """Feature 5 (small, about +-0.3) decides the class; feature 0 is large noise that sets absmax."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g) * 0.5
    x[:, 0] = torch.randn(n, generator=g) * 4 + 6
    label = (torch.rand(n, generator=g) < 0.5).long()
    x[:, 5] = (label * 2 - 1) * (0.25 + 0.1 * torch.rand(n, generator=g))
    return x, label


def _mlp():
    """fc1 copies +-feature 5 into hidden 0/1 (x10) and feature 0 into hidden 2..3; fc2 reads 0/1."""
    fc1, fc2 = nn.Linear(8, 4), nn.Linear(4, 2)
    with torch.no_grad():
        fc1.weight.zero_()
        fc1.bias.zero_()
        fc1.weight[0, 5], fc1.weight[1, 5] = -10.0, 10.0
        fc1.weight[2, 0], fc1.weight[3, 0] = 0.1, -0.1
        fc2.weight.zero_()
        fc2.bias.zero_()
        fc2.weight[0, 0], fc2.weight[1, 1] = 1.0, 1.0
    return nn.Sequential(fc1, nn.ReLU(), fc2).eval()


def _score(x, y):
    def score(qmodel):
        logp = torch.log_softmax(qmodel(x), 1)
        return float((logp.argmax(1) == y).double().mean()), float(logp.gather(1, y[:, None]).mean())

    return score


def test_ranking_finds_the_obviously_important_channel():
    x, y = _signal_data()
    model = _mlp()
    q = quant.quantize_model(model, RankScheme(3), lambda m: m(x))
    with torch.no_grad():
        assert float((q(x).argmax(1) == y).double().mean()) == 1.0  # every layer float at first
    result = rank_channels(q, FullForward(_score(x, y)), progress=False)
    assert list(result.order) == ["0", "2"]
    assert result.order["0"][0] == 5  # only feature 5 carries the class, and 3 bits erase it
    assert result.scores["0"][5][0] == 1.0 and max(s[0] for c, s in enumerate(result.scores["0"]) if c != 5) < 0.7
    assert sorted(result.order["2"]) == [0, 1, 2, 3]
    assert result.most_important() == {"0": 5, "2": result.order["2"][0]}
    # the ranking leaves each layer keeping its most important channel float
    assert q[0].params.extra["keep"].tolist() == [5]
    assert Ranking.from_json(json.loads(json.dumps(result.to_json()))).order == result.order


def test_ties_go_to_the_lower_channel():
    x, y = _signal_data(seed=1)
    q = quant.quantize_model(_mlp(), RankScheme(3), lambda m: m(x))
    result = rank_channels(q, FullForward(lambda qmodel: (1.0,)), progress=False)
    assert result.order == {"0": list(range(8)), "2": [0, 1, 2, 3]}


def test_rank_scheme_keeps_one_channel_float_per_candidate_copy():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 5, generator=g)
    scheme = RankScheme(3)
    stats = quant.ActStats()
    stats.update(x)
    params = scheme.act_params(stats)
    assert torch.equal(scheme.fake_quant_act(x, params), x)  # mode "float"
    direct = direct_fake_quant(x, 3, params.extra["absmax"])
    copies = x.repeat(3, 1)
    params.extra.update(mode="keep", keep=torch.tensor([4, 0, 2]))
    for n_copies in (1, 3):
        params.extra["copies"] = n_copies
        out = scheme.fake_quant_act(copies, params).view(3, 6, 5)
        for k, c in enumerate([4, 0, 2]):
            expect = direct.clone()
            expect[:, c] = x[:, c]
            assert torch.equal(out[k], expect)


def test_network_ranking_is_cached_by_settings(tmp_path):
    from golden.models import get_network

    net = get_network("digits_cnn")
    first = ranking.network_ranking(net, 5, cache=tmp_path, progress=False)
    files = list(tmp_path.glob("digits_cnn-N5-*.json"))
    assert len(files) == 1 and first.settings["n_bits"] == 5
    assert sum(len(o) for o in first.order.values()) == 145
    blob = json.loads(files[0].read_text())
    blob["order"]["fc"] = list(range(32))  # a cached ranking is read back, not recomputed
    files[0].write_text(json.dumps(blob))
    assert ranking.network_ranking(net, 5, cache=tmp_path, progress=False).order["fc"] == list(range(32))


@pytest.mark.slow
def test_minilm_stages_score_like_whole_forward_passes():
    """The batched block-suffix evaluator gives the scores of whole forward passes (a few channels)."""
    from golden.models import get_network

    net = get_network("minilm")
    stages = ranking._minilm_evaluator(net, {}, sentences=4)
    q = quant.quantize_model(net.load(), RankScheme(3), net.calibrate)
    layers = quant.emulated_layers(q)
    for em in layers.values():
        em.params.extra["mode"] = "float"
    names = list(layers)
    for name in names[:7]:  # block 0, and the first layer of block 1 with block 0 keeping channels
        ranking._keep(layers[name], [1])
    target = layers[names[7]]
    target.params.extra["channels"] = 5  # score the first 5 channels only

    def whole(qmodel):
        cos = 0.0
        for batch, ref in zip(stages.batches, stages.reference):
            emb = qmodel(**batch)
            cos += float((nn.functional.normalize(emb.double(), dim=1) * nn.functional.normalize(ref.double(), dim=1)).sum())
        return (cos / stages.sentences,)

    with torch.no_grad():
        staged = stages(q, names[7], target, lambda n: None)
        full = FullForward(whole)(q, names[7], target, lambda n: None)
    assert [s[0] for s in staged] == pytest.approx([s[0] for s in full], abs=1e-6)
