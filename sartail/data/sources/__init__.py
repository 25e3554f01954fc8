"""The one registry of data kinds: where chips come from, the synthetic generator included.

A data spec is ``"kind:path"`` (``folder:PATH``, ``mavoc:PATH``, ``mavoc_test:PATH``,
``mstar:PATH``) or ``synthetic[:key=value,...]``. Every place that turns a spec into chips
asks the :class:`DataKind` of :data:`KINDS`; none tests the kind's name. To add a data kind,
write its loader in a module here and add one entry to :data:`KINDS`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import DataError, suggest
from .. import cache as _cache
from .. import random_fields as _random_fields
from .. import render_parts as _render_parts
from ..chipset import ChipSet
from ..folds import fold_split
from . import synthetic as _syn
from .folder import load_folder
from .mavoc import load_mavoc, load_mavoc_test
from .mstar import load_mstar

if TYPE_CHECKING:
    from ...config import DataConfig

Splitter = Callable[["DataKind", str, "DataConfig", int, bool], "tuple[ChipSet, ChipSet | None]"]


#: The files whose code decides the generated chips (part of their cache key).
RENDERER_CODE = tuple(m.__file__ for m in (_syn, _render_parts, _random_fields) if m.__file__)


def _generate(counts: list[int], *, size: int, seed: int, prefix: str, progress: bool) -> ChipSet:
    """:func:`~.synthetic.generate` through the cache (the same options and renderer give the same chips)."""
    options = {"counts": [int(c) for c in counts], "size": int(size), "seed": int(seed), "prefix": prefix}
    return _cache.generated(lambda: [_syn.generate(**options, progress=progress)],  # type: ignore[arg-type]  # options hold the keyword types
                            "synthetic.generate", options, RENDERER_CODE, parts=1)[0]


def _make_synthetic(**options: Any) -> tuple[ChipSet, ChipSet]:
    """:func:`~.synthetic.make_synthetic` (training and test chips) through the cache."""
    progress = bool(options.pop("progress", True))
    train, test = _cache.generated(lambda: _syn.make_synthetic(**options, progress=progress), "synthetic.make_synthetic",
                                   options, RENDERER_CODE, parts=2)
    return train, test


def _disk_splits(kind: DataKind, path: str, d: DataConfig, seed: int, progress: bool) -> tuple[ChipSet, ChipSet | None]:
    train = kind.load(path, size=d.size, skip_bad=d.skip_bad, progress=progress)
    if not train.labelled:
        raise DataError(f"{kind.name}:{path}: these chips have no labels and cannot train a model; "
                        "use them with `sartail predict`")
    if d.test:
        return train, None
    return fold_split(train, d.split, d.test_fraction, seed=d.split_seed, progress=progress)


def _synthetic_splits(kind: DataKind, path: str, d: DataConfig, seed: int, progress: bool) -> tuple[ChipSet, ChipSet | None]:
    opts = {"scale": d.scale, "test_per_class": d.test_per_class, "size": d.size, **_syn.parse_synthetic_args(path)}
    counts = list(d.counts) if d.counts else _syn.mavoc_counts(float(opts["scale"]))
    train = _generate(counts, size=int(opts["size"]), seed=int(opts.get("seed", seed)), prefix="train",
                      progress=progress)
    if d.test:
        return train, None
    test = _generate([int(opts["test_per_class"])] * len(counts), size=int(opts["size"]),
                     seed=10_000 + d.split_seed, prefix="test", progress=progress)
    return train, test


def _load_synthetic(path: str, **options: Any) -> ChipSet:
    return _make_synthetic(**{**_syn.parse_synthetic_args(path), **options})[0]


def _disk_pair(kind: DataKind, path: str, defaults: Mapping[str, Any], progress: bool) -> tuple[ChipSet, ChipSet | None]:
    return kind.load(path, progress=progress), None


def _synthetic_pair(kind: DataKind, path: str, defaults: Mapping[str, Any],
                    progress: bool) -> tuple[ChipSet, ChipSet | None]:
    return _make_synthetic(**{**defaults, **_syn.parse_synthetic_args(path)}, progress=progress)


def _synthetic_test(kind: DataKind, path: str, size: int) -> ChipSet:
    return _make_synthetic(**{"size": size, **_syn.parse_synthetic_args(path)})[1]


def _disk_test(kind: DataKind, path: str, size: int) -> ChipSet:
    return kind.load(path, size=size)


def _synthetic_pool(per_class: int, seed: int) -> ChipSet:
    return _generate([per_class] * len(_syn.MODELS), size=56, seed=seed, prefix="pool", progress=False)


@dataclass(frozen=True)
class DataKind:
    """One kind of data spec and everything the kit asks of it.

    Its input defaults (chip size, batch) are config, in :data:`sartail.config.inputs.KIND_INPUTS`.

    Attributes:
        name: the spec's prefix.
        load: ``load(path, **options) -> ChipSet``, the chips of a spec.
        on_disk: chips read from files (``False``: generated, so nothing to predict on).
        balanced: a balanced set, which notebooks' ``PROFILE="auto"`` makes long-tailed.
        config_keys: ``data.*`` config keys only this kind reads.
        needs_path: whether the spec must name a path.
    """

    name: str
    load: Callable[..., ChipSet]
    on_disk: bool = True
    balanced: bool = False
    config_keys: tuple[str, ...] = ()
    needs_path: bool = True
    _splits: Splitter = _disk_splits
    _pair: Callable[..., tuple[ChipSet, ChipSet | None]] = _disk_pair
    _test: Callable[..., ChipSet] = _disk_test
    _pool: Callable[[int, int], ChipSet] | None = None

    def splits(self, path: str, data: DataConfig, seed: int, progress: bool = True) -> tuple[ChipSet, ChipSet | None]:
        """Training chips and the kind's own test set (``None`` when ``data.test`` names one)."""
        return self._splits(self, path, data, seed, progress)

    def pair(self, path: str, defaults: Mapping[str, Any], progress: bool = True) -> tuple[ChipSet, ChipSet | None]:
        """Training chips and the kind's own test chips, if it has any (``defaults``: generator options)."""
        return self._pair(self, path, defaults, progress)

    def test_chips(self, path: str, size: int) -> ChipSet:
        """Labelled chips to score a model on (the generated test set of a generated kind)."""
        return self._test(self, path, size)

    def pool(self, per_class: int, seed: int) -> ChipSet | None:
        """A balanced pool of ``per_class`` chips per class to draw long-tailed subsets from, if the kind makes one."""
        return self._pool(per_class, seed) if self._pool is not None else None


KINDS: dict[str, DataKind] = {
    "folder": DataKind("folder", load_folder, balanced=True),
    "mavoc": DataKind("mavoc", load_mavoc),
    "mavoc_test": DataKind("mavoc_test", load_mavoc_test),
    "mstar": DataKind("mstar", load_mstar, balanced=True),
    "synthetic": DataKind("synthetic", _load_synthetic, on_disk=False, config_keys=("scale", "test_per_class"),
                          needs_path=False, _splits=_synthetic_splits, _pair=_synthetic_pair, _test=_synthetic_test,
                          _pool=_synthetic_pool),
}
DATA_KINDS = tuple(KINDS)


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``"kind:path"`` into its parts, checking the kind."""
    kind, sep, path = str(spec).partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise DataError(f"unknown data kind {kind!r} in {spec!r}; use one of {list(DATA_KINDS)}.{suggest(kind, DATA_KINDS)}")
    if KINDS[kind].needs_path and not path:
        raise DataError(f"data spec {spec!r} needs a path: {kind}:/path/to/chips")
    return kind, path


def data_kind(spec: str) -> tuple[DataKind, str]:
    """The :class:`DataKind` of a spec and the spec's path part."""
    kind, path = parse_spec(spec)
    return KINDS[kind], path


def load(spec: str, **options: Any) -> ChipSet:
    """Load chips from a ``"kind:path"`` spec (``folder``, ``mavoc``, ``mavoc_test``, ``mstar``, ``synthetic``).

    ``synthetic`` specs make training chips with :func:`~sartail.data.sources.synthetic.make_synthetic`
    (``synthetic:scale=0.02,seed=1``); use ``make_synthetic`` directly to get its balanced test set too.
    """
    kind, path = data_kind(spec)
    return kind.load(path, **options)


__all__ = ["DataKind", "KINDS", "DATA_KINDS", "parse_spec", "data_kind", "load", "load_folder", "load_mavoc",
           "load_mavoc_test", "load_mstar"]
