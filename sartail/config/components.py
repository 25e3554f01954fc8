"""The configs of a stage's parts: model, loss, sampler, augmentation, shot groups.

They live here, beside the run and stage configs, so that a config is plain data that every
layer can read without importing the code that acts on it (models, losses, samplers, ...).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError, suggest

ARCHS = ("sarnet", "cnn6", "resnet18", "resnet10")
HEADS = ("linear", "cosine")


@dataclass(frozen=True)
class ModelConfig:
    """The network.

    Attributes:
        arch: ``sarnet`` (the small default), ``cnn6`` (six plain layers, stride 2 first, two
            max-pools), ``resnet18`` or ``resnet10`` (torchvision, adapted to one channel and
            small chips).
        width: channels of the first SARNet stage (doubles at each of its 4 stages) or of the
            first CNN6 layer (``w, w, 2w, 2w, 4w, 4w``; the plain control uses 32).
        head: ``linear`` or ``cosine``.
        cosine_temperature: logit scale of the cosine head.
        dropout: dropout before the head.
    """

    arch: str = "sarnet"
    width: int = 16
    head: str = "linear"
    cosine_temperature: float = 16.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"unknown model.arch {self.arch!r}; use one of {ARCHS}.{suggest(self.arch, ARCHS)}")
        if self.head not in HEADS:
            raise ConfigError(f"unknown model.head {self.head!r}; use one of {HEADS}.{suggest(self.head, HEADS)}")
        if self.width < 1:
            raise ConfigError(f"model.width must be >= 1, got {self.width}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must lie in [0, 1), got {self.dropout}")


LOSSES = ("ce", "focal", "class_balanced", "ldam", "logit_adjust", "balanced_softmax", "label_aware_smoothing")


@dataclass(frozen=True)
class LossConfig:
    """A loss and its options (only those of the chosen loss matter)."""

    name: str = "ce"
    label_smoothing: float = 0.0
    gamma: float = 2.0
    beta: float = 0.9999
    max_m: float = 0.5
    s: float = 30.0
    drw_epoch: int | None = None
    tau: float = 1.0
    eps_head: float = 0.3
    eps_tail: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in LOSSES:
            raise ConfigError(f"unknown loss {self.name!r}; use one of {LOSSES}.{suggest(self.name, LOSSES)}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"loss.label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.beta < 1:
            raise ConfigError(f"loss.beta must lie in [0, 1), got {self.beta}")
        for key, value, ok, rule in (("gamma", self.gamma, self.gamma >= 0, ">= 0"), ("max_m", self.max_m, self.max_m >= 0, ">= 0"),
                                     ("s", self.s, self.s > 0, "> 0")):
            if not ok:
                raise ConfigError(f"loss.{key} must be {rule}, got {value}")


SAMPLERS = ("instance", "class_balanced", "sqrt", "progressive", "undersample")


@dataclass(frozen=True)
class SamplerConfig:
    """Which sampler, and its options.

    Attributes:
        name: one of :data:`SAMPLERS`.
        epoch_size: chips per epoch for the drawing samplers (default: the view's size).
        max_per_class: the cap of ``undersample``.
    """

    name: str = "instance"
    epoch_size: int | None = None
    max_per_class: int | None = None

    def __post_init__(self) -> None:
        if self.name not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.name!r}; use one of {SAMPLERS}.{suggest(self.name, SAMPLERS)}")
        if self.epoch_size is not None and self.epoch_size < 1:
            raise ConfigError(f"sampler.epoch_size must be >= 1, got {self.epoch_size}")
        if self.name == "undersample" and (self.max_per_class is None or self.max_per_class < 1):
            raise ConfigError(f"sampler 'undersample' needs sampler.max_per_class >= 1 (the chips kept per class), "
                              f"got {self.max_per_class}")


CUTMIX_LABELS = ("area", "energy")
CUTMIX_PAIRS = ("any", "same_class")


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations to apply, batch-wise.

    Attributes:
        crop: random translation by up to ``crop`` pixels (zero-padded), as a padded crop.
        flip: horizontal flip with probability 0.5.
        rot90: rotation by a random multiple of 90 degrees.
        speckle: multiplicative gamma speckle with this many looks (0 = off).
        mixup: mixup alpha (0 = off); applied by the training loop, which mixes the labels too.
        cutmix: CutMix alpha (0 = off; Yun et al. 2019): one box of the batch is replaced by the
            same box of a shuffled copy; the loop weights the two labels as ``cutmix_labels`` says.
        cutmix_center: the box centre is drawn uniformly within this central fraction of each
            side: 1 = anywhere (Yun et al.), smaller = a central CutMix (0 = always centred).
        cutmix_prob: the probability that a batch is CutMixed (1 = every batch; Yun et al.'s
            code uses 0.5 on CIFAR and 1 on ImageNet); the other batches train unmixed.
        cutmix_labels: how CutMix weights the two labels: ``area`` (Yun et al.: the pasted
            share of pixels, one weight for the batch) or ``energy`` (per chip: the share of
            each source chip's energy, its squared grey level above its own median, that the
            mixed chip holds, the two shares normalised to sum to 1). SAR evidence is a few
            bright scatterers in the centre, so a box of background carries area but no target.
        cutmix_pairs: which chip a box comes from: ``any`` (Yun et al.: a shuffled copy of the
            batch) or ``same_class`` (a research option: a random chip of the same class in the batch,
            the chip itself if it is its class's only one, so the labels are never mixed and what
            is left of CutMix is the pasted box and its edges).
        rotate: rotation by a random angle in ``[-rotate, rotate]`` degrees (bilinear, edges
            reflected so that no zero corners appear; 0 = off). MSTAR chips are taken at every
            aspect angle, so a few degrees is a plausible nuisance.
        erase: probability of random erasing (Zhong et al. 2020): one box of 2-20 % of the chip,
            aspect 0.3-3.3, filled with the chip's mean grey level (0 = off).
        gamma: intensity gamma jitter: ``255 * (x / 255) ** exp(u)``, ``u`` uniform in
            ``[-gamma, gamma]`` per chip (brightness and contrast of SAR chips vary; 0 = off).
    """

    crop: int = 4
    flip: bool = True
    rot90: bool = False
    speckle: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    cutmix_center: float = 1.0
    cutmix_prob: float = 1.0
    cutmix_labels: str = "area"
    cutmix_pairs: str = "any"
    rotate: float = 0.0
    erase: float = 0.0
    gamma: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.rotate <= 180:
            raise ConfigError(f"augment.rotate must lie in [0, 180] degrees, got {self.rotate}")
        if not 0 <= self.erase <= 1:
            raise ConfigError(f"augment.erase is a probability in [0, 1], got {self.erase}")
        if self.gamma < 0:
            raise ConfigError(f"augment.gamma must be >= 0, got {self.gamma}")
        if self.crop < 0:
            raise ConfigError(f"augment.crop must be >= 0, got {self.crop}")
        if self.speckle < 0:
            raise ConfigError(f"augment.speckle must be >= 0 looks, got {self.speckle}")
        if self.mixup < 0:
            raise ConfigError(f"augment.mixup must be >= 0, got {self.mixup}")
        if self.cutmix < 0:
            raise ConfigError(f"augment.cutmix must be >= 0, got {self.cutmix}")
        if not 0 <= self.cutmix_center <= 1:
            raise ConfigError(f"augment.cutmix_center must lie in [0, 1], got {self.cutmix_center}")
        if not 0 < self.cutmix_prob <= 1:
            raise ConfigError(f"augment.cutmix_prob must lie in (0, 1], got {self.cutmix_prob}")
        if self.cutmix_labels not in CUTMIX_LABELS:
            raise ConfigError(f"augment.cutmix_labels must be one of {', '.join(CUTMIX_LABELS)}, got {self.cutmix_labels!r}")
        if self.cutmix_pairs not in CUTMIX_PAIRS:
            raise ConfigError(f"augment.cutmix_pairs must be one of {', '.join(CUTMIX_PAIRS)}, got {self.cutmix_pairs!r}")
        if self.mixup > 0 and self.cutmix > 0:
            raise ConfigError("augment.mixup and augment.cutmix are both on; a batch is mixed one way: set one to 0")


#: The self-supervised methods a ``pretrain`` stage may use (their heads: ``sartail.ssl_heads``).
SSL_METHOD_NAMES = ("simsiam", "simclr", "rotation")


@dataclass(frozen=True)
class SSLConfig:
    """A ``pretrain`` stage's self-supervised settings.

    Attributes:
        method: ``simsiam`` (the default: no negatives, so it works at small batches),
            ``simclr`` or ``rotation``.
        view: the transforms of each of the two views, ``name=amount`` comma-separated
            (``sartail.data.views``): flips, small rotations (degrees), speckle (looks), gamma.
        dim: the projector's output width.
    """

    method: str = "simsiam"
    view: str = "flip=1,rotate=10,speckle=4,gamma=0.3"
    dim: int = 128

    def __post_init__(self) -> None:
        if self.method not in SSL_METHOD_NAMES:
            raise ConfigError(f"ssl.method must be one of {', '.join(SSL_METHOD_NAMES)}, got {self.method!r}."
                              f"{suggest(self.method, SSL_METHOD_NAMES)}")
        if self.dim < 1:
            raise ConfigError(f"ssl.dim must be >= 1, got {self.dim}")


@dataclass(frozen=True)
class ShotGroups:
    """Many-shot: more than ``many`` training chips; few-shot: fewer than ``few``; medium between."""

    many: int = 100
    few: int = 20

    def __post_init__(self) -> None:
        if self.few > self.many or self.few < 0:
            raise ConfigError(f"shot groups need 0 <= few <= many, got few={self.few}, many={self.many}")

    def assign(self, train_counts: Sequence[int]) -> list[str]:
        return ["many" if n > self.many else "few" if n < self.few else "medium" for n in train_counts]
