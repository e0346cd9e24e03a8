"""``digits_cnn``: a small residual CNN on scikit-learn's bundled 8x8 digits.

Data: ``sklearn.datasets.load_digits`` (1797 images, 16 grey levels, shipped with scikit-learn),
pixels scaled to ``x / 16``. One fixed permutation (``numpy.random.RandomState(0)``) splits it into
540 test images (the evaluation split), 128 calibration images and 1129 training images.

Network (6 conv layers, batch-norm, ReLU, 2 residual blocks, one Linear)::

    stem:   conv3x3 1->16, BN, ReLU                    8x8
    block1: [conv3x3 16->16, BN, ReLU, conv3x3, BN] + x, ReLU
    down:   conv3x3 16->32 stride 2, BN, ReLU          4x4
    block2: [conv3x3 32->32, BN, ReLU, conv3x3, BN] + x, ReLU
    head:   global average pool, fc 32->10

Training is deterministic (``torch.manual_seed``, ``torch.use_deterministic_algorithms``, one
thread, a seeded shuffling generator): Adam, 30 epochs, batch 64. The trained weights are cached in
``build/models/digits_cnn.pt`` together with the training configuration (retrained when missing or
when the configuration differs). :meth:`DigitsCNN.load` returns the model with every batch-norm
folded into the preceding conv (conv bias = BN shift), as an accelerator computes it, so the
quantized convs carry the BN scale in their weights.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import Network

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO / "build" / "models" / "digits_cnn.pt"

SPLIT_SEED = 0
N_TEST = 540
N_CALIB = 128
TRAIN_CONFIG = {"seed": 0, "epochs": 30, "batch": 64, "lr": 3e-3, "weight_decay": 1e-4, "version": 1}


class ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.a = ConvBN(ch, ch)
        self.b = ConvBN(ch, ch)

    def forward(self, x):
        return F.relu(self.b(F.relu(self.a(x))) + x)


class DigitsResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvBN(1, 16)
        self.block1 = ResBlock(16)
        self.down = ConvBN(16, 32, stride=2)
        self.block2 = ResBlock(32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = self.block1(x)
        x = F.relu(self.down(x))
        x = self.block2(x)
        return self.fc(x.mean((2, 3)))


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) where every ``ConvBN`` computes ``conv'(x) = bn(conv(x))``
    with one conv: ``w' = w * g / sqrt(var + eps)``, ``b' = beta - mean * g / sqrt(var + eps)``."""
    model = copy.deepcopy(model).eval()
    for mod in model.modules():
        if isinstance(mod, ConvBN) and isinstance(mod.bn, nn.BatchNorm2d):
            conv, bn = mod.conv, mod.bn
            k = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
            with torch.no_grad():
                folded.weight.copy_(conv.weight * k[:, None, None, None])
                folded.bias.copy_(bn.bias - bn.running_mean * k)
            mod.conv, mod.bn = folded, nn.Identity()
    return model


def split_indices(n: int = 1797) -> dict[str, torch.Tensor]:
    """Indices into ``load_digits()`` of the test, calibration and training splits."""
    perm = torch.from_numpy(np.random.RandomState(SPLIT_SEED).permutation(n))
    return {"test": perm[:N_TEST], "calib": perm[N_TEST : N_TEST + N_CALIB], "train": perm[N_TEST + N_CALIB :]}


def load_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"train"|"calib"|"test": (images float32 [n, 1, 8, 8], labels int64 [n])}``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(d.target, dtype=torch.int64)
    return {k: (x[i], y[i]) for k, i in split_indices(len(y)).items()}


@contextlib.contextmanager
def _deterministic():
    """Deterministic kernels on one thread: the bits do not depend on the machine's core count."""
    prev, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev)
        torch.set_num_threads(threads)


def train(config: dict = TRAIN_CONFIG, splits=None, progress: bool = False) -> DigitsResNet:
    """Train from scratch, deterministically (same config and machine -> same bits)."""
    splits = splits or load_splits()
    x, y = splits["train"]
    with _deterministic():
        torch.manual_seed(config["seed"])
        gen = torch.Generator().manual_seed(config["seed"])
        model = DigitsResNet()
        opt = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config["epochs"])
        epochs = range(config["epochs"])
        if progress:
            from tqdm import tqdm

            epochs = tqdm(epochs, desc="train digits_cnn", unit="epoch")
        for _ in epochs:
            model.train()
            order = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y), config["batch"]):
                idx = order[i : i + config["batch"]]
                opt.zero_grad()
                F.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
            sched.step()
    return model.eval()


class DigitsCNN(Network):
    name = "digits_cnn"
    metric = "accuracy"

    def __init__(self, cache: Path | str = DEFAULT_CACHE, config: dict = TRAIN_CONFIG):
        self.cache = Path(cache)
        self.config = dict(config)
        self._splits = None
        self._model = None

    @property
    def splits(self):
        if self._splits is None:
            self._splits = load_splits()
        return self._splits

    def load(self, retrain: bool = False) -> nn.Module:
        if self._model is not None and not retrain:
            return self._model
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        # Parallel test workers share the cache: one trains, the others wait for its file.
        with open(self.cache.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = None
            if self.cache.exists() and not retrain:
                blob = torch.load(self.cache, map_location="cpu", weights_only=True)
                if blob.get("config") == self.config:
                    state = blob["state_dict"]
            if state is None:
                trained = train(self.config, self.splits, progress=True)
                state = trained.state_dict()
                partial = self.cache.with_name(f".{self.cache.name}.{os.getpid()}.tmp")
                torch.save({"config": self.config, "state_dict": state}, partial)
                partial.replace(self.cache)
        model = DigitsResNet()
        model.load_state_dict(state)
        self._model = fold_batchnorm(model)
        return self._model

    def calibrate(self, model: nn.Module) -> None:
        with torch.no_grad():
            model(self.splits["calib"][0])

    def evaluate(self, model: nn.Module, limit: int | None = None, progress: bool = False) -> dict:
        x, y = self.splits["test"]
        x, y = x[:limit], y[:limit]
        correct = 0
        batches = range(0, len(y), 64)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="digits_cnn eval", unit="batch")
        with torch.no_grad():
            for i in batches:
                correct += int((model(x[i : i + 64]).argmax(1) == y[i : i + 64]).sum())
        return {"accuracy": correct / len(y), "samples": len(y)}

    def sample_batches(self, limit: int) -> Iterator[torch.Tensor]:
        x = self.splits["test"][0][:limit]
        for i in range(len(x)):
            yield x[i : i + 1]

    def run(self, model: nn.Module, batch) -> None:
        with torch.no_grad():
            model(batch)

    def info(self) -> dict:
        return {
            "data": "sklearn.datasets.load_digits, x/16",
            "split": {"seed": SPLIT_SEED, "test": N_TEST, "calib": N_CALIB, "train": 1797 - N_TEST - N_CALIB},
            "train_config": self.config,
            "batchnorm": "folded into the convs",
        }
