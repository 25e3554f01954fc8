"""2-D layouts of body features that stay comparable across stages: pooled PCA, t-SNE, UMAP.

Split out of :mod:`sartail.eval.features` (which re-exports :func:`embed_stages`).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from sartail.errors import ConfigError

METHODS = ("pca", "tsne", "umap")


def _as_2d(features: torch.Tensor | np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor) else features)
    if x.ndim != 2:
        raise ValueError(f"features must be a matrix [chips, dims], got shape {tuple(x.shape)}")
    return x.double()


def umap_available() -> bool:
    """Whether ``umap-learn`` can be imported (UMAP layouts are an optional extra)."""
    import importlib.util

    return importlib.util.find_spec("umap") is not None


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ConfigError(f"unknown embedding method {method!r}; use one of {METHODS}")
    if method == "umap" and not umap_available():
        raise ConfigError("UMAP layouts need the optional package umap-learn: pip install 'sartail[umap]' "
                          "(or pip install umap-learn); PCA and t-SNE need nothing extra")


def _procrustes(layout: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``layout`` rotated (or reflected) about its centre to match ``reference`` best; no scaling."""
    from scipy.linalg import orthogonal_procrustes

    a = layout - layout.mean(0)
    b = reference - reference.mean(0)
    r, _ = orthogonal_procrustes(a, b)
    return a @ r


def embed_stages(features: Mapping[str, torch.Tensor | np.ndarray], method: str = "pca", *, seed: int = 0,
                 perplexity: float = 30.0, neighbours: int = 15) -> dict[str, np.ndarray]:
    """A 2-D layout ``[N, 2]`` (``float64``) of each stage's features of the same ``N`` chips.

    ``pca``: one PCA fitted on all stages' features pooled, each stage centred and scaled to
    unit RMS spread first (the same projection for every stage; no stage's scale dominates). ``tsne`` / ``umap``: fitted per stage with ``seed``,
    initialised from the shared PCA layout, then rotated onto the first stage's layout.
    The same inputs and ``seed`` give bit-identical layouts.
    """
    check_method(method)
    if not features:
        raise ValueError("no stages given")
    mats = {s: _as_2d(f).numpy() for s, f in features.items()}
    shapes = {m.shape for m in mats.values()}
    if len(shapes) != 1:
        raise ValueError(f"every stage needs features of the same chips and size, got shapes {sorted(shapes)}")
    n = next(iter(shapes))[0]
    if n < 3:
        raise ValueError(f"a 2-D layout needs at least 3 chips, got {n}")
    from sklearn.decomposition import PCA

    # every stage centred and scaled to unit RMS spread first, so that no stage's feature scale dominates the fit
    mats = {s: (m - m.mean(0)) / max(float(np.sqrt(((m - m.mean(0)) ** 2).sum(1).mean())), 1e-12)
            for s, m in mats.items()}
    pooled = np.concatenate(list(mats.values()))
    pca = PCA(n_components=2, svd_solver="full").fit(pooled)
    comps = pca.components_.copy()
    for i in range(2):  # a fixed sign: the largest loading of each component is positive
        if comps[i, np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    proj = {s: (m - pca.mean_) @ comps.T for s, m in mats.items()}
    if method == "pca":
        return proj
    out: dict[str, np.ndarray] = {}
    first = None
    for s, m in mats.items():
        init = proj[s] - proj[s].mean(0)
        init = init / max(float(init[:, 0].std()), 1e-12) * 1e-4  # the scale scikit-learn gives a PCA init
        if method == "tsne":
            from sklearn.manifold import TSNE

            tsne = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), init=init, random_state=seed,
                        learning_rate="auto", max_iter=500, n_jobs=1)
            lay = tsne.fit_transform(m)
        else:
            import umap  # optional: checked by check_method

            reducer = umap.UMAP(n_components=2, n_neighbors=min(neighbours, n - 1), init=init * 1e4,
                                random_state=seed, n_jobs=1, transform_seed=seed)
            lay = np.asarray(reducer.fit_transform(m), dtype=np.float64)
        lay = np.asarray(lay, dtype=np.float64)
        first = lay - lay.mean(0) if first is None else first
        out[s] = _procrustes(lay, first)
    return out


# ------------------------------------------------------------------------------ the result
