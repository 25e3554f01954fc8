"""Small SAR networks and classifier heads.

A :class:`Classifier` is a body (chips to feature vectors) and a :class:`Head` (features to
logits). It takes raw ``uint8``-valued chips (as floats, 0..255) and normalises them with
statistics stored in the model, so a saved model predicts on raw chips.

The head keeps one *row* per class (``weight``, ``bias``, ``scale``), and knows which
original class id each row belongs to (``head.class_ids``), so that stages with different
class sets can hand rows over in order (see :func:`sartail.train.heads.set_head_classes`).
One head class covers the usual kinds:

- ``linear``: ``scale * (x @ W.T + b)``;
- ``cosine``: ``scale * temperature * cos(x, W)`` (no bias);
- tau-normalised (post hoc, Kang et al.): ``linear`` with ``W / ||W||**tau`` and no bias;
- LWS (learnable weight scaling): train ``scale`` only, with ``W`` and ``b`` frozen.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .config.components import HEADS
from .errors import ConfigError


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SARNet(nn.Module):
    """A very small VGG-style network for 56 px greyscale chips.

    A greyscale stem (3x3 convolution) keeps the full chip resolution; four stages of two
    3x3 convolutions, the first with stride 2, double the width each (``w, 2w, 4w, 8w``);
    global average pooling gives ``8 * width`` features. ``width=16`` has about 0.3 M
    parameters, ``width=8`` about 75 k.
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.stem = _conv_bn(1, w)
        chans = [w, w, 2 * w, 4 * w, 8 * w]
        layers = []
        for i in range(4):
            layers += [_conv_bn(chans[i], chans[i + 1], 2), _conv_bn(chans[i + 1], chans[i + 1])]
        self.layers = nn.Sequential(*layers)
        self.out_features = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class CNN6(nn.Module):
    """A plain six-layer network that downsamples early and pools twice (``model.arch: cnn6``).

    Six 3x3 convolutions (widths ``w, w, 2w, 2w, 4w, 4w``): the first with stride 2, a 2x2
    max-pool after the second and the fourth, then global average pooling (``4 * width``
    features). ``width=32`` (about 0.29 M parameters) is the plain control network of
    benchmarks/plain_mstar.py. Against :class:`SARNet` it sees the chip at half resolution
    from the first layer, and its max-pools keep the strongest response in each window.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        chans = [w, w, 2 * w, 2 * w, 4 * w, 4 * w]
        layers: list[nn.Module] = []
        cin = 1
        for i, c in enumerate(chans):
            layers.append(_conv_bn(cin, c, 2 if i == 0 else 1))
            if i in (1, 3):
                layers.append(nn.MaxPool2d(2))
            cin = c
        self.layers = nn.Sequential(*layers)
        self.out_features = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.layers(x), 1).flatten(1)


class TorchvisionBody(nn.Module):
    """A torchvision ResNet adapted to one channel and small chips (3x3 stem, no max-pool)."""

    def __init__(self, arch: str) -> None:
        super().__init__()
        from torchvision.models import resnet
        from torchvision.models.resnet import BasicBlock, ResNet

        net = resnet.resnet18(weights=None) if arch == "resnet18" else ResNet(BasicBlock, [1, 1, 1, 1])
        net.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
        net.maxpool = nn.Identity()
        self.out_features = net.fc.in_features
        net.fc = nn.Identity()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Head(nn.Module):
    """Classifier head with per-class rows ``weight [C, D]``, ``bias [C]``, ``scale [C]``.

    ``kind`` is ``linear`` or ``cosine``; ``tau > 0`` applies tau-normalisation (and drops
    the bias, as Kang et al.); ``scale`` is 1 unless trained by an LWS stage.
    """

    ROWS = ("weight", "bias", "scale")
    tau: torch.Tensor  # buffers (typed for mypy: nn.Module.__getattr__ is Tensor | Module)
    class_ids: torch.Tensor

    def __init__(self, in_features: int, class_ids: Sequence[int], kind: str = "linear",
                 temperature: float = 16.0) -> None:
        super().__init__()
        if kind not in HEADS:
            raise ConfigError(f"unknown head kind {kind!r}")
        c = len(class_ids)
        self.kind = kind
        self.temperature = float(temperature)
        self.weight = nn.Parameter(torch.empty(c, in_features))
        self.bias = nn.Parameter(torch.zeros(c), requires_grad=kind == "linear")
        self.scale = nn.Parameter(torch.ones(c), requires_grad=False)
        self.register_buffer("tau", torch.zeros(()))
        self.register_buffer("class_ids", torch.tensor(list(class_ids), dtype=torch.int64))
        #: the last rows of classes this head no longer has (handed over by ``train.heads.set_head_classes``)
        self.bank: dict[int, dict[str, torch.Tensor]] = {}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        with torch.no_grad():
            self.bias.zero_()
            self.scale.fill_(1.0)
            self.tau.zero_()

    @property
    def num_classes(self) -> int:
        return int(self.weight.shape[0])

    def extra_repr(self) -> str:
        return f"kind={self.kind}, classes={self.class_ids.tolist()}, tau={float(self.tau):g}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        if self.kind == "cosine":
            logits = self.temperature * F.linear(F.normalize(x, dim=1), F.normalize(w, dim=1))
        elif float(self.tau) > 0:
            norm = w.norm(dim=1, keepdim=True).clamp_min(1e-12)
            logits = F.linear(x, w / norm.pow(self.tau))
        else:
            logits = F.linear(x, w, self.bias)
        return logits * self.scale

    def rows(self) -> dict[int, dict[str, torch.Tensor]]:
        """``{class_id: {"weight": row, "bias": value, "scale": value}}`` (detached copies)."""
        return {
            int(cid): {name: getattr(self, name).detach()[i].clone() for name in self.ROWS}
            for i, cid in enumerate(self.class_ids.tolist())
        }


class Classifier(nn.Module):
    """Body + head, with input normalisation stored in the model (raw chip values in)."""

    head: Head
    input_mean: torch.Tensor
    input_std: torch.Tensor

    def __init__(self, body: nn.Module, head: Head, dropout: float = 0.0, mean: float = 0.0, std: float = 255.0) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.register_buffer("input_mean", torch.tensor(float(mean)))
        self.register_buffer("input_std", torch.tensor(float(std)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body((x - self.input_mean) / self.input_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def build_body(cfg: ModelConfig) -> nn.Module:
    if cfg.arch == "sarnet":
        return SARNet(cfg.width)
    if cfg.arch == "cnn6":
        return CNN6(cfg.width)
    return TorchvisionBody(cfg.arch)


def build_model(cfg: ModelConfig, num_classes: int, *, mean: float = 0.0, std: float = 255.0) -> Classifier:
    """A :class:`Classifier` for ``num_classes`` classes (ids ``0..num_classes-1``)."""
    body = build_body(cfg)
    head = Head(body.out_features, range(num_classes), cfg.head, cfg.cosine_temperature)  # type: ignore[arg-type]
    return Classifier(body, head, cfg.dropout, mean, std)


#: Fewest channels of a BatchNorm layer at which channels-last runs well on several CPU threads.
CPU_CHANNELS_LAST_MIN = 16


def channels_last_for(model: nn.Module, device: torch.device, setting: bool | str = "auto") -> bool:
    """Whether ``model`` runs in channels-last memory format on ``device`` (config key ``channels_last``).

    ``true`` / ``false`` are kept. ``auto``: channels-last on CUDA. On the CPU too, unless torch
    uses more than one thread and a BatchNorm layer has fewer than 16 channels: there
    channels-last BatchNorm is slower on 2 threads than on 1 (torch 2.14.1, AVX512,
    forward + backward: 32 ms against 9 ms for 8 channels; 12 ms on 2 threads for 16), and a ``width: 8`` SARNet
    trains 1.4-1.6x faster in the default layout (benchmarks/bench_speed.py ``--formats``). The
    choice changes float sums, so it is part of what makes a run's digits (like the thread count).
    """
    if setting != "auto":
        return bool(setting)
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    narrowest = min((m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d)), default=None)
    return torch.get_num_threads() == 1 or narrowest is None or narrowest >= CPU_CHANNELS_LAST_MIN
