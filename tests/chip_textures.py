"""Distinct textured chips for the leakage and fold tests (smoothed random fields: two of them
correlate weakly, a chip and its shifted noisy copy strongly)."""
import torch
import torch.nn.functional as F

from sartail.data.chipset import ChipSet
from sartail.data.leakage import shifted_copy


def textures(n: int, size: int = 40, seed: int = 0) -> torch.Tensor:
    """``uint8 [n, 1, size, size]`` independent smoothed random fields."""
    g = torch.Generator().manual_seed(seed)
    x = F.avg_pool2d(torch.rand(n, 1, size + 2, size + 2, generator=g), 3, stride=1)
    x = (x - x.mean((2, 3), keepdim=True)) / x.std((2, 3), keepdim=True)
    return (100 + 35 * x).round().clamp(0, 255).to(torch.uint8)


def textured_chips(per_class=(12, 12, 12), size: int = 40, seed: int = 0, ids=None, names=None) -> ChipSet:
    """A chip set of distinct textures, ``per_class[c]`` chips in class ``c`` (ids ``c<c>/hb<n>.jpeg``)."""
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(per_class)])
    names = names or [f"c{c}" for c in range(len(per_class))]
    if ids is None:
        ids = [f"{names[int(c)]}/hb{1000 + i}.jpeg" for i, c in enumerate(labels.tolist())]
    return ChipSet.from_tensors(textures(len(labels), size, seed), labels, names, ids)


def planted(train: ChipSet, positions, noise=0.5, shift=(2, 2), seed=1) -> ChipSet:
    """Shifted noisy copies of ``train``'s chips at ``positions``, with their labels."""
    pos = torch.as_tensor(list(positions))
    return ChipSet.from_tensors(shifted_copy(train.pixels(pos), shift=shift, noise=noise, seed=seed),
                                train.labels[pos], train.class_names)
