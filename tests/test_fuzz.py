"""Fuzzing the chip decoder, the loaders and the decode cache.

Random bytes (bare, or behind a real PNG / JPEG / BMP / TIFF / GIF signature) and real MSTAR
chips mutated at random (bit flips, overwritten, deleted, duplicated or inserted runs,
truncation, a corrupted header or image size, two chips spliced together), as JPEG and
converted to PNG, BMP and TIFF, go through :func:`sartail.data.decode_chip` and through whole
folders loaded by ``load_mstar``, ``load_folder`` and ``load_mavoc``. The only exception
allowed is the kit's :class:`~sartail.errors.DataError`, and it must name the file at fault;
a chip that decodes is an 8-bit array of the asked size. Loading with ``skip_bad=True`` keeps
exactly the files that decode on their own. A mutated decode-cache entry never stops a load, and is never read back as other pixels without a warning.

Everything is seeded (:data:`SEED`), so a failure names a case that reproduces. The real chips
are read from ``$SARTAIL_MSTAR_ROOT`` (default ``../shared/data/mstar_soc10``) and never copied
into the project: mutated copies live in pytest's ``tmp_path`` only. The number of cases run is
printed at the end of the module (``pytest -s``) and merged into ``$SARTAIL_RELIABILITY_COUNTS``.
"""
from __future__ import annotations

import io
import os
import random
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_runs import report_reliability_counts

from sartail.data import DecodeOptions, decode_chip, load_folder, load_mavoc, load_mstar
from sartail.errors import DataError

SEED = 2024
RANDOM_CASES = 1200  # files of random bytes
MUTATED_CASES = 2400  # mutated real chips
LOADER_LAYOUTS = 36  # folders of good and mutated chips, loaded strictly and with skip_bad
CACHE_CASES = 30  # mutated decode-cache entries

TALLY: Counter[str] = Counter()

SIGNATURES = {
    ".png": b"\x89PNG\r\n\x1a\n",
    ".jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    ".jpeg": b"\xff\xd8\xff\xdb",
    ".bmp": b"BM",
    ".tif": b"II*\x00",
    ".tiff": b"MM\x00*",
}
OPTIONS = [
    DecodeOptions(size=(64, 64)),
    DecodeOptions(size=None),
    DecodeOptions(size=(48, 40), fit="crop", colour="refuse", depth="refuse"),
]
MUTATIONS = ("bitflip", "overwrite", "truncate", "delete", "duplicate", "insert", "zero", "header", "size", "splice")


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    summary = {
        "decode_cases": TALLY["decode"],
        "decoded": TALLY["decode:ok"],
        "refused_with_data_error": TALLY["decode:DataError"],
        "random_byte_files": TALLY["random"],
        "mutated_real_chips": TALLY["mutated"],
        "loader_loads": TALLY["load"],
        "cache_entries_mutated": TALLY["cache"],
        "cache_entries_rejected_with_a_warning": TALLY["cache:warned"],
        "cache_entries_read_with_other_pixels": TALLY["cache:silently_altered"],
        "by_mutation": {k.split(":", 1)[1]: v for k, v in sorted(TALLY.items()) if k.startswith("mutation:")},
    }
    report_reliability_counts("test_fuzz", summary)


# ------------------------------------------------------------------------------ helpers
def check_decode(path: Path, options: DecodeOptions, case: str) -> bool:
    """Decode ``path``: an 8-bit chip of the asked size, or a DataError naming the file. True if decoded."""
    TALLY["decode"] += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL warns of corrupt EXIF / TIFF tags it skips
            arr, note = decode_chip(path, options)
    except DataError as exc:
        assert str(path) in str(exc), f"{case}: the error does not name the file: {exc}"
        TALLY["decode:DataError"] += 1
        return False
    except Exception as exc:  # noqa: BLE001 - anything else is the bug this test looks for
        pytest.fail(f"{case}: decode_chip raised {type(exc).__name__}: {exc} (options {options})")
    assert isinstance(arr, np.ndarray) and arr.dtype == np.uint8 and arr.ndim == 2, case
    if options.size is not None:
        assert arr.shape == options.size, case
    assert note is None or str(path) in note, case
    TALLY["decode:ok"] += 1
    return True


def mutate(data: bytes, rng: random.Random, other: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    kind = rng.choice(MUTATIONS)
    i = rng.randrange(len(b))
    n = rng.randint(1, 256)
    if kind == "bitflip":
        for _ in range(rng.randint(1, 24)):
            j = rng.randrange(len(b))
            b[j] ^= 1 << rng.randrange(8)
    elif kind == "overwrite":
        b[i : i + n] = rng.randbytes(len(b[i : i + n]))
    elif kind == "truncate":
        b = b[: rng.randrange(len(b))]
    elif kind == "delete":
        del b[i : i + n]
    elif kind == "duplicate":
        b[i:i] = b[i : i + n]
    elif kind == "insert":
        b[i:i] = rng.randbytes(n)
    elif kind == "zero":
        b[i : i + n] = bytes(len(b[i : i + n]))
    elif kind == "header":
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(min(48, len(b)))] = rng.randrange(256)
    elif kind == "size":  # the image's height and width: JPEG's SOF, PNG's IHDR, BMP's and TIFF's header
        at = _size_offset(bytes(b))
        for j in range(at, min(at + 8, len(b))):
            if rng.random() < 0.5:
                b[j] = rng.randrange(256)
    else:  # splice: the head of one chip and the tail of another
        j = rng.randrange(len(other))
        b = b[:i] + bytearray(other[j:])
    TALLY[f"mutation:{kind}"] += 1
    return bytes(b), kind


def _size_offset(data: bytes) -> int:
    sof = data.find(b"\xff\xc0")
    if data[:2] == b"\xff\xd8" and sof > 0:
        return sof + 5
    if data[:8] == SIGNATURES[".png"]:
        return 16
    if data[:2] == b"BM":
        return 18
    return 0


def converted(data: bytes, fmt: str) -> bytes:
    """A real chip re-encoded as PNG, BMP, TIFF or GIF (to fuzz those decoders with real content)."""
    with Image.open(io.BytesIO(data)) as im:
        buf = io.BytesIO()
        im.convert("L").save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def real_chips(mstar_root) -> dict[str, list[bytes]]:
    """A seeded sample of real MSTAR chips (bytes), four per class."""
    rng = random.Random(SEED)
    root = mstar_root / "train" if (mstar_root / "train").is_dir() else mstar_root
    out = {}
    for cls in sorted(p.name for p in root.iterdir() if p.is_dir()):
        files = sorted((root / cls).glob("*.jpeg"))
        out[cls] = [p.read_bytes() for p in rng.sample(files, min(4, len(files)))]
    assert len(out) >= 2
    return out


# ------------------------------------------------------------------------------ decode_chip
def test_random_bytes_never_escape_as_anything_but_a_data_error(tmp_path):
    rng = random.Random(SEED)
    suffixes = list(SIGNATURES) + [".gif"]
    for k in range(RANDOM_CASES):
        suffix = suffixes[k % len(suffixes)]
        body = rng.randbytes(rng.choice([0, 1, 7, 64, 512, 4096]) + rng.randrange(64))
        if k % 3 and suffix in SIGNATURES:  # two cases in three carry a real signature
            body = SIGNATURES[suffix] + body
        path = tmp_path / f"random{k}{suffix}"
        path.write_bytes(body)
        check_decode(path, OPTIONS[k % len(OPTIONS)], f"random case {k} (seed {SEED})")
        TALLY["random"] += 1
        path.unlink()


def test_mutated_real_mstar_chips_decode_or_raise_a_data_error(tmp_path, real_chips):
    rng = random.Random(SEED + 1)
    pool = [data for chips in real_chips.values() for data in chips]
    formats = [(".jpeg", None), (".png", "PNG"), (".bmp", "BMP"), (".tif", "TIFF"), (".gif", "GIF")]
    encoded = {fmt: [converted(d, fmt) if fmt else d for d in pool[:: 2 if fmt else 1]] for _, fmt in formats}
    for k in range(MUTATED_CASES):
        suffix, fmt = formats[0] if k % 2 == 0 else formats[1 + (k // 2) % (len(formats) - 1)]
        source = rng.choice(encoded[fmt])
        data, kind = mutate(source, rng, rng.choice(encoded[fmt]))
        path = tmp_path / f"mutated{k}{suffix}"
        path.write_bytes(data)
        check_decode(path, OPTIONS[k % len(OPTIONS)], f"mutated case {k} ({kind} of a {suffix} chip, seed {SEED + 1})")
        TALLY["mutated"] += 1
        path.unlink()


def test_intact_real_chips_decode(tmp_path, real_chips):
    """The control: the sampled chips themselves, in every format, always decode."""
    for cls, chips in real_chips.items():
        for j, data in enumerate(chips):
            for suffix, fmt in ((".jpeg", None), (".png", "PNG"), (".bmp", "BMP"), (".tif", "TIFF")):
                path = tmp_path / f"{cls}-{j}{suffix}"
                path.write_bytes(converted(data, fmt) if fmt else data)
                assert check_decode(path, DecodeOptions(size=(64, 64)), f"intact {path.name}")


# ------------------------------------------------------------------------------ loaders
def write_layout(root: Path, kind: str, real_chips: dict[str, list[bytes]], rng: random.Random) -> list[Path]:
    """A folder of 2-3 classes of 1-4 chips each, about half of them mutated; returns the chip files."""
    classes = rng.sample(sorted(real_chips), rng.randint(2, 3))
    files = []
    for c, cls in enumerate(classes):
        folder = root / (str(c) if kind == "mavoc" else cls)
        folder.mkdir(parents=True)
        for j in range(rng.randint(1, 4)):
            data = rng.choice(real_chips[cls])
            if kind == "mavoc":
                data = converted(data, "PNG")
            if rng.random() < 0.5:
                data, _ = mutate(data, rng, rng.choice(real_chips[cls]))
            name = f"SAR_{1000 * c + j}.png" if kind == "mavoc" else f"{j}.{'jpeg' if kind == 'mstar' else 'png'}"
            (folder / name).write_bytes(data)
            files.append(folder / name)
    return files


LOADERS = {
    "mstar": lambda root, **kw: load_mstar(root, size=64, **kw),
    "folder": lambda root, **kw: load_folder(root, size=64, **kw),
    "mavoc": lambda root, **kw: load_mavoc(root, size=56, **kw),
}


def test_loaders_keep_exactly_the_chips_that_decode_and_name_the_first_bad_one(tmp_path, real_chips):
    rng = random.Random(SEED + 2)
    cache = tmp_path / "cache"
    for k in range(LOADER_LAYOUTS):
        kind = ("mstar", "folder", "mavoc")[k % 3]
        root = tmp_path / f"layout{k}"
        files = write_layout(root, kind, real_chips, rng)
        size = (56, 56) if kind == "mavoc" else (64, 64)
        good = {f for f in files if check_decode(f, DecodeOptions(size=size), f"layout {k}: {f.name}")}
        bad = sorted(f for f in files if f not in good)  # in the loaders' order: class folders, then files
        case = f"layout {k} ({kind}, seed {SEED + 2})"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # converted chips and skipped files are warned of
            for skip_bad in (False, True):
                TALLY["load"] += 1
                try:
                    chips = LOADERS[kind](root, skip_bad=skip_bad, cache=cache, progress=False)
                except DataError as exc:
                    msg = str(exc)
                    if not skip_bad:
                        assert bad and str(bad[0]) in msg, f"{case}: {msg}"
                    else:  # some class lost every chip: every one of them is named
                        assert "every chip of class(es)" in msg, f"{case}: {msg}"
                        lost = {f.parent for f in files} - {f.parent for f in good}
                        assert lost and all(str(f) in msg for f in bad if f.parent in lost), f"{case}: {msg}"
                    continue
                except Exception as exc:  # noqa: BLE001
                    pytest.fail(f"{case}: the loader raised {type(exc).__name__}: {exc}")
                assert not bad or skip_bad, f"{case}: a strict load accepted bad files {bad}"
                want = sorted(f.relative_to(root).as_posix() for f in good)
                assert sorted(chips.chip_ids) == want, case
                skipped = [r for r in chips.report if r.startswith("skipped")]
                assert len(skipped) == len(bad) and all(any(str(f) in r for r in skipped) for f in bad), case
                again = LOADERS[kind](root, skip_bad=skip_bad, cache=cache, progress=False)  # from the cache
                assert again.chip_ids == chips.chip_ids and torch.equal(again.pixels(), chips.pixels()), case


def test_mutated_cache_entries_never_stop_a_load(tmp_path, real_chips):
    """A damaged cache entry is read, or ignored with a warning and the chips decoded again."""
    rng = random.Random(SEED + 3)
    root = tmp_path / "chips"
    for cls in sorted(real_chips)[:3]:
        (root / cls).mkdir(parents=True)
        for j, data in enumerate(real_chips[cls]):
            (root / cls / f"{j}.jpeg").write_bytes(data)
    cache = tmp_path / "cache"
    fresh = load_folder(root, size=64, cache=cache, progress=False)
    (entry,) = cache.iterdir()
    original = entry.read_bytes()
    for k in range(CACHE_CASES):
        data, kind = mutate(original, rng, original)
        entry.write_bytes(data)
        os.utime(entry)
        TALLY["cache"] += 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                chips = load_folder(root, size=64, cache=cache, progress=False)
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"cache case {k} ({kind}, seed {SEED + 3}): {type(exc).__name__}: {exc}")
        warned = any("ignoring unreadable cache entry" in str(w.message) for w in caught)
        TALLY["cache:warned"] += warned
        assert chips.chip_ids == fresh.chip_ids, f"cache case {k} ({kind})"
        if not warned and not torch.equal(chips.pixels(), fresh.pixels()):
            TALLY["cache:silently_altered"] += 1
            pytest.fail(f"cache case {k} ({kind}): read back with other pixels and no warning (the CRC-32 missed it)")
        if warned:  # decoded again: the very same chips, and a sound entry written in its place
            assert torch.equal(chips.pixels(), fresh.pixels()), f"cache case {k} ({kind})"
            assert entry.read_bytes() == original or torch.equal(
                load_folder(root, size=64, cache=cache, progress=False).pixels(), fresh.pixels())
        entry.write_bytes(original)
