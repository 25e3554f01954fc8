"""Heads for self-supervised pre-training of a body, dropped when pre-training ends.

- ``simsiam`` (Chen & He, CVPR 2021): a projector (two linear layers with BatchNorm) and a
  bottleneck predictor; the loss compares one view's prediction with the other view's
  projection, the latter without gradient.
- ``simclr`` (Chen et al., ICML 2020): a projector only; the loss is contrastive over the batch.
- ``rotation`` (Gidaris et al., ICLR 2018): a linear classifier of the chip's rotation
  (0, 90, 180 or 270 degrees), the cheap baseline.

The heads sit on the body's pooled features; only the body is kept after the stage.
"""
from __future__ import annotations

from torch import nn

from .errors import ConfigError, suggest

SSL_METHODS = ("simsiam", "simclr", "rotation")


def _mlp(d_in: int, d_hidden: int, d_out: int, *, last_bn: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(d_in, d_hidden, bias=False), nn.BatchNorm1d(d_hidden), nn.ReLU(inplace=True),
                               nn.Linear(d_hidden, d_out, bias=not last_bn)]
    if last_bn:
        layers.append(nn.BatchNorm1d(d_out, affine=False))
    return nn.Sequential(*layers)


class SSLHeads(nn.Module):
    """The heads of one self-supervised method on ``in_features`` body features.

    Attributes:
        method: one of :data:`SSL_METHODS`.
        projector: features to the embedding compared across views (``rotation``: to 4 logits).
        predictor: SimSiam's predictor (an identity for the other methods).
    """

    def __init__(self, method: str, in_features: int, dim: int = 128, hidden: int | None = None) -> None:
        super().__init__()
        if method not in SSL_METHODS:
            raise ConfigError(f"unknown self-supervised method {method!r}; use one of {list(SSL_METHODS)}."
                              f"{suggest(method, SSL_METHODS)}")
        self.method = method
        hidden = hidden or max(dim, in_features)
        self.predictor: nn.Module = nn.Identity()
        if method == "rotation":
            self.projector: nn.Module = nn.Linear(in_features, 4)
        elif method == "simsiam":
            self.projector = _mlp(in_features, hidden, dim, last_bn=True)
            self.predictor = _mlp(dim, max(dim // 4, 8), dim, last_bn=False)
        else:
            self.projector = _mlp(in_features, hidden, dim, last_bn=False)


def build_ssl_heads(method: str, in_features: int, dim: int = 128) -> SSLHeads:
    """The heads of ``method`` for a body of ``in_features`` pooled features."""
    return SSLHeads(method, in_features, dim)
