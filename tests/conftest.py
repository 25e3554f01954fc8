"""Fixtures shared by the whole test suite.

Real data (never copied into the project; tests that need it skip, saying why, only when the
folder is absent):

* ``mstar_root``        -- ``$SARTAIL_MSTAR_ROOT``, default ``<repo>/../shared/data/mstar_soc10``
* ``mavoc_test_root``   -- ``$SARTAIL_MAVOC_TEST_ROOT``, default ``<repo>/../shared/data/mavoc2022_test_sar``
* ``mstar_chips``       -- MSTAR's training chips loaded once per session (64 x 64)

Isolation: every test runs with ``$SARTAIL_CACHE_DIR`` pointing at a temporary folder of
this session (``session_cache_dir``), so nothing is written into the user's cache. A test
that checks the cache itself should pass its own ``cache=tmp_path / ...``.

Tiny generated layouts (a few dozen chips, made on the fly in ``tmp_path``):

* ``make_mavoc_layout(root, counts=..., sizes=..., eo=True)`` -> root of ``<0..9>/SAR_<id>.png``
* ``mavoc_layout``      -- one such layout: 3 chips per class, 54..60 px, with EO chips beside
* ``make_folder_layout(root, counts={...})`` -> root of ``<class>/<n>.<png|bmp|tif|jpg>``
* ``folder_layout``     -- one such layout: classes ``jeep`` (4), ``tank`` (3), ``truck`` (2)
* ``write_chip(path, array)`` -- write one image file (any PIL-supported array)

Every generated SAR chip is a constant grey level ``chip_value(label, index)`` so a test can
tell from the pixels which file a chip came from.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
MSTAR_DEFAULT = REPO.parent / "shared" / "data" / "mstar_soc10"
MAVOC_TEST_DEFAULT = REPO.parent / "shared" / "data" / "mavoc2022_test_sar"
FOLDER_SUFFIXES = (".png", ".bmp", ".tif", ".jpg")


def _real_root(env: str, default: Path, what: str) -> Path:
    root = Path(os.environ.get(env) or default).expanduser()
    if not root.is_dir():
        pytest.skip(f"{what} not found at {root} (set ${env} to its folder)")
    return root


def chip_value(label: int, index: int) -> int:
    """The grey level of generated chip ``index`` of class ``label`` (distinct per chip, < 250)."""
    return 10 + 20 * label + index % 20


@pytest.fixture(scope="session")
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The decode-cache folder of this test session (``$SARTAIL_CACHE_DIR`` during every test)."""
    return tmp_path_factory.mktemp("sartail-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(session_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARTAIL_CACHE_DIR", str(session_cache_dir))


@pytest.fixture(scope="session")
def mstar_root() -> Path:
    """MSTAR SOC 10-class chips (``<root>/train/<class>/hb*.jpeg``); skips if absent."""
    return _real_root("SARTAIL_MSTAR_ROOT", MSTAR_DEFAULT, "MSTAR data")


@pytest.fixture(scope="session")
def mavoc_test_root() -> Path:
    """The 826 real, unlabelled MAVOC 2022 SAR test chips (``<root>/SAR/SAR_<id>.png``); skips if absent."""
    return _real_root("SARTAIL_MAVOC_TEST_ROOT", MAVOC_TEST_DEFAULT, "MAVOC test chips")


@pytest.fixture(scope="session")
def mstar_chips(mstar_root: Path, session_cache_dir: Path):
    """MSTAR's 2,746 training chips, centre-cropped to 64 x 64, loaded once per session."""
    from sartail.data import load_mstar

    return load_mstar(mstar_root, size=64, cache=session_cache_dir, progress=False)


def _write_chip(path: str | os.PathLike, array: np.ndarray, **save_options) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array)).save(path, **save_options)
    return path


@pytest.fixture
def write_chip() -> Callable[..., Path]:
    """``write_chip(path, array, **pil_save_options)``: write one image file, making folders."""
    return _write_chip


def _make_mavoc_layout(root: str | os.PathLike, counts: Sequence[int] = (3,) * 10,
                       sizes: Sequence[int] = (54, 55, 56, 57, 58, 59, 60), eo: bool = True) -> Path:
    root = Path(root)
    n = 0
    for label, count in enumerate(counts):
        for i in range(count):
            size = sizes[n % len(sizes)]
            image_id = 1000 * label + i
            _write_chip(root / str(label) / f"SAR_{image_id}.png",
                        np.full((size, size), chip_value(label, i), dtype=np.uint8))
            if eo:  # colour chips of another size beside them, as in the UNICORN release
                _write_chip(root / str(label) / f"EO_{image_id}.png", np.full((31, 31, 3), 250, dtype=np.uint8))
            n += 1
    return root


@pytest.fixture
def make_mavoc_layout() -> Callable[..., Path]:
    """``make_mavoc_layout(root, counts=(3,)*10, sizes=(54..60), eo=True)``: a MAVOC training layout.

    Class folder ``c`` holds ``counts[c]`` chips ``SAR_<1000 c + i>.png`` of grey level
    ``chip_value(c, i)`` and sizes cycling through ``sizes``; with ``eo`` an RGB ``EO_<id>.png``
    sits beside each. A zero count makes no folder.
    """
    return _make_mavoc_layout


@pytest.fixture
def mavoc_layout(tmp_path: Path) -> Path:
    """A MAVOC layout of 3 SAR chips per class (54-60 px) with EO chips beside them."""
    return _make_mavoc_layout(tmp_path / "mavoc")


def _make_folder_layout(root: str | os.PathLike, counts: Mapping[str, int] | None = None, size: int = 40) -> Path:
    root = Path(root)
    counts = {"jeep": 4, "tank": 3, "truck": 2} if counts is None else counts
    for label, (name, count) in enumerate(sorted(counts.items())):
        for i in range(count):
            suffix = FOLDER_SUFFIXES[i % len(FOLDER_SUFFIXES)]
            _write_chip(root / name / f"{i}{suffix}", np.full((size, size), chip_value(label, i), dtype=np.uint8),
                        **({"quality": 100} if suffix == ".jpg" else {}))
    return root


@pytest.fixture
def make_folder_layout() -> Callable[..., Path]:
    """``make_folder_layout(root, counts={"jeep": 4, ...}, size=40)``: a folder of class folders.

    Chip ``i`` of the ``label``-th class (sorted by name) is ``<i>.<png|bmp|tif|jpg>`` (the
    suffix cycles) of grey level ``chip_value(label, i)``.
    """
    return _make_folder_layout


@pytest.fixture
def folder_layout(tmp_path: Path) -> Path:
    """A folder layout: ``jeep`` (4 chips), ``tank`` (3), ``truck`` (2), 40 x 40 px, mixed formats."""
    return _make_folder_layout(tmp_path / "folder")
