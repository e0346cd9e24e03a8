"""``EDQAScheme``: eDQA as an activation-only scheme of the real-network harness (:mod:`golden.quant`).

Each layer input ``[rows, C]`` is quantized by Algorithm 1 and de-quantized by Algorithm 2 of "eDQA:
Efficient Deep Quantization of DNN Activations on Edge Devices" with the functions of
:mod:`golden.edqa.model` (bit-exact to the semantics): ``N`` bits, the important channels with ``m``
extra bits. The important channels of a layer are the first ``floor(ratio * C + 1/2)`` of its
ranking (:mod:`golden.edqa.ranking`); the weights stay float32 and the scale of each layer is its
calibrated ``absmax`` (:mod:`golden.edqa.layer`).

The ranking is found when the model is quantized (:meth:`EDQAScheme.prepare`): the ``ranking``
option when given (a :class:`~golden.edqa.ranking.Ranking`, or a dict ``layer -> channels, most
important first``); otherwise the ranking of the network whose calibration routine quantizes the
model (``golden.models.Network.calibrate``, so ``python -m golden.evaluate --scheme edqa`` works),
at ``N`` bits, from the cache under ``build/edqa/ranking/`` or computed (minutes for minilm).
``ratio`` 0 and 1 need no ranking.
"""

from __future__ import annotations

from golden.quant import emulated_layers

from .layer import ActScheme, check_ratio, edqa_fake_quant, important_count, important_mask
from .model import check_bits
from .ranking import DEFAULT_SENTENCES, Ranking, network_ranking

__all__ = ["EDQAScheme"]


class EDQAScheme(ActScheme):
    """eDQA with ``n_bits`` N, ``m_extra`` m and important-channel ``ratio`` r (the module docstring).

    ``sentences``: calibration sentences of the minilm ranking (when it is computed here).
    """

    name = "edqa"

    def __init__(self, n_bits: int = 3, m_extra: int = 3, ratio: float = 0.4, ranking=None,
                 sentences: int = DEFAULT_SENTENCES):
        super().__init__(n_bits)
        check_bits(n_bits, m_extra)
        self.m_extra = m_extra
        self.ratio = check_ratio(ratio)
        if ranking is not None and not isinstance(ranking, (Ranking, dict)):
            raise TypeError("ranking must be a Ranking or a dict of layer name -> channels, most important first")
        self.ranking = ranking
        self.sentences = sentences

    @property
    def label(self) -> str:
        return f"edqa[N={self.n_bits},m={self.m_extra},r={self.ratio:g}]"

    def config(self) -> dict:
        out = {**super().config(), "m_extra": self.m_extra, "ratio": self.ratio,
               "important": "first floor(ratio * C + 1/2) channels of the layer's ranking"}
        if isinstance(self.ranking, Ranking):
            out["ranking"] = self.ranking.settings
        return out

    def _orders(self, calibrate) -> dict:
        if isinstance(self.ranking, Ranking):
            return self.ranking.order
        if isinstance(self.ranking, dict):
            return self.ranking
        from golden.models import Network

        net = getattr(calibrate, "__self__", None)
        if not isinstance(net, Network):
            raise ValueError("eDQA needs a channel ranking: pass ranking=..., or quantize a golden.models "
                             "network with its calibrate method")
        self.ranking = network_ranking(net, self.n_bits, sentences=self.sentences)
        return self.ranking.order

    def prepare(self, qmodel, calibrate) -> None:
        layers = emulated_layers(qmodel)
        needed = any(0 < important_count(layer.params.extra["channels"], self.ratio) < layer.params.extra["channels"]
                     for layer in layers.values())
        orders = self._orders(calibrate) if needed else {}
        for name, layer in layers.items():
            channels = layer.params.extra["channels"]
            if name in orders:
                order = orders[name]
            elif not 0 < important_count(channels, self.ratio) < channels:
                order = range(channels)  # none or all important: the order does not matter
            else:
                raise ValueError(f"the ranking has no layer {name!r}")
            layer.params.extra["important"] = important_mask(order, channels, self.ratio)

    def dequantized(self, x2d, params):
        return edqa_fake_quant(x2d, params.extra["important"], self.n_bits, self.m_extra, params.extra["absmax"])
