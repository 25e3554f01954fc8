"""The decode cache: a second load skips decoding, changed files are noticed, damaged entries
are ignored with a warning, and nothing is ever left half-written."""
import os

import pytest
import torch

import sartail.data.sources.files as loaders
from sartail.data import cache as cache_mod
from sartail.data import load_folder, load_mavoc, load_mstar
from sartail.data.chipset import ChipSet
from sartail.errors import DataError


def entries(cache_dir):
    return sorted(p.name for p in cache_dir.iterdir()) if cache_dir.exists() else []


def no_decoding(monkeypatch):
    """Make any decode fail, so a load can only succeed from the cache."""
    def refuse(path, options):
        raise AssertionError(f"decoded {path} although it was cached")
    monkeypatch.setattr(loaders, "decode_chip", refuse)


def counting_decoder(monkeypatch):
    calls = []
    real = loaders.decode_chip

    def count(path, options):
        calls.append(path)
        return real(path, options)
    monkeypatch.setattr(loaders, "decode_chip", count)
    return calls


def same_chips(a, b):
    return (torch.equal(a.pixels(), b.pixels()) and torch.equal(a.labels, b.labels) and a.chip_ids == b.chip_ids
            and a.class_names == b.class_names)


def test_second_load_comes_from_the_cache(tmp_path, mavoc_layout, monkeypatch):
    cache = tmp_path / "cache"
    first = load_mavoc(mavoc_layout, cache=cache, progress=False)
    assert len(entries(cache)) == 1 and entries(cache)[0].startswith("chips-")
    no_decoding(monkeypatch)
    second = load_mavoc(mavoc_layout, cache=cache, progress=False)
    assert same_chips(first, second) and second.source == first.source


def test_cached_set_is_memory_mapped_and_views_still_share_it(tmp_path, folder_layout):
    cache = tmp_path / "cache"
    load_folder(folder_layout, cache=cache, progress=False)
    chips = load_folder(folder_layout, cache=cache, progress=False)
    view = chips.remove_classes(["tank"])
    assert view.images.data_ptr() == chips.images.data_ptr()
    assert view.class_counts().tolist() == [4, 2]


def test_environment_variable_sets_the_default_folder(tmp_path, folder_layout, monkeypatch):
    monkeypatch.setenv("SARTAIL_CACHE_DIR", str(tmp_path / "env-cache"))
    load_folder(folder_layout, progress=False)  # cache=True: the default folder
    assert len(entries(tmp_path / "env-cache")) == 1
    assert cache_mod.default_dir() == tmp_path / "env-cache"
    monkeypatch.delenv("SARTAIL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_mod.default_dir() == tmp_path / "xdg" / "sartail"


def test_cache_false_writes_nothing(tmp_path, folder_layout, monkeypatch):
    monkeypatch.setenv("SARTAIL_CACHE_DIR", str(tmp_path / "env-cache"))
    load_folder(folder_layout, cache=False, progress=False)
    assert not (tmp_path / "env-cache").exists()


def test_touched_file_invalidates_the_entry(tmp_path, folder_layout, monkeypatch):
    cache = tmp_path / "cache"
    load_folder(folder_layout, cache=cache, progress=False)
    old = entries(cache)
    path = folder_layout / "tank" / "1.bmp"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    calls = counting_decoder(monkeypatch)
    load_folder(folder_layout, cache=cache, progress=False)
    assert len(calls) == 9  # decoded afresh
    assert entries(cache) != old and len(entries(cache)) == 1  # the stale entry was replaced


def test_changed_file_is_decoded_again(tmp_path, folder_layout, write_chip):
    import numpy as np

    cache = tmp_path / "cache"
    before = load_folder(folder_layout, size=40, cache=cache, progress=False)
    path = write_chip(folder_layout / "jeep" / "0.png", np.full((40, 40), 222, np.uint8))
    # same size on disk; make sure the clock moved on (file systems stamp times in coarse ticks)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    after = load_folder(folder_layout, size=40, cache=cache, progress=False)
    pos = after.chip_ids.index("jeep/0.png")
    assert int(after.pixels(torch.tensor([pos])).min()) == 222
    assert int(before.pixels(torch.tensor([pos])).max()) != 222


def test_added_and_removed_files_are_noticed(tmp_path, folder_layout, write_chip):
    import numpy as np

    cache = tmp_path / "cache"
    assert len(load_folder(folder_layout, cache=cache, progress=False)) == 9
    write_chip(folder_layout / "truck" / "new.png", np.zeros((40, 40), np.uint8))
    assert len(load_folder(folder_layout, cache=cache, progress=False)) == 10
    (folder_layout / "jeep" / "2.tif").unlink()
    (folder_layout / "truck" / "new.png").unlink()
    chips = load_folder(folder_layout, cache=cache, progress=False)
    assert len(chips) == 8 and "jeep/2.tif" not in chips.chip_ids
    assert len(entries(cache)) == 1


def test_other_options_get_their_own_entry(tmp_path, folder_layout, monkeypatch):
    cache = tmp_path / "cache"
    a = load_folder(folder_layout, size=40, cache=cache, progress=False)
    b = load_folder(folder_layout, size=32, cache=cache, progress=False)
    c = load_folder(folder_layout, classes=["truck", "jeep"], size=40, cache=cache, progress=False)
    assert (a.chip_size, b.chip_size, c.class_names) == ((40, 40), (32, 32), ("truck", "jeep"))
    assert len(entries(cache)) == 3
    no_decoding(monkeypatch)
    assert same_chips(load_folder(folder_layout, size=32, cache=cache, progress=False), b)


def test_the_same_layout_elsewhere_is_another_entry(tmp_path, make_folder_layout, monkeypatch):
    """Two copies of one layout (same names, sizes, maybe mtimes) must not share an entry."""
    cache = tmp_path / "cache"
    a = load_folder(make_folder_layout(tmp_path / "a"), cache=cache, progress=False)
    load_folder(make_folder_layout(tmp_path / "b", counts={"jeep": 4, "tank": 3, "truck": 2}), cache=cache,
                progress=False)
    assert len(entries(cache)) == 2
    monkeypatch.chdir(tmp_path)  # a relative path to the same folder finds the same entry
    no_decoding(monkeypatch)
    assert same_chips(load_folder("a", cache=cache, progress=False), a)


def test_corrupt_entry_is_ignored_with_a_warning(tmp_path, mavoc_layout):
    cache = tmp_path / "cache"
    first = load_mavoc(mavoc_layout, cache=cache, progress=False)
    (entry,) = cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:100])
    with pytest.warns(UserWarning, match=rf"ignoring unreadable cache entry {entry}"):
        again = load_mavoc(mavoc_layout, cache=cache, progress=False)
    assert same_chips(first, again)
    # the entry was written afresh and now loads without a warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert same_chips(load_mavoc(mavoc_layout, cache=cache, progress=False), first)


def test_entry_with_garbage_is_ignored(tmp_path, folder_layout):
    cache = tmp_path / "cache"
    load_folder(folder_layout, cache=cache, progress=False)
    (entry,) = cache.iterdir()
    entry.write_text("not a torch file")
    with pytest.warns(UserWarning, match="ignoring unreadable cache entry"):
        assert len(load_folder(folder_layout, cache=cache, progress=False)) == 9


def test_a_flipped_bit_in_the_pixels_is_noticed(tmp_path, make_folder_layout):
    root = make_folder_layout(tmp_path / "chips", counts={"a": 3, "b": 3}, size=16)
    cache = tmp_path / "cache"
    first = load_folder(root, size=16, cache=cache, progress=False)
    (entry,) = cache.iterdir()
    data = bytearray(entry.read_bytes())
    at = data.find(bytes([10]) * 256)  # the pixels of chip a/0.png (grey level 10)
    assert at > 0
    data[at + 100] ^= 0x01
    entry.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=rf"ignoring unreadable cache entry {entry} \(checksum mismatch"):
        again = load_folder(root, size=16, cache=cache, progress=False)
    assert same_chips(again, first)


def test_a_failed_write_leaves_no_file_and_still_loads(tmp_path, folder_layout, monkeypatch):
    cache = tmp_path / "cache"

    def full_disk(obj, fh, *a, **k):
        fh.write(b"half an entry")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.warns(UserWarning, match="could not write the decode cache.*No space left"):
        chips = load_folder(folder_layout, cache=cache, progress=False)
    assert len(chips) == 9
    assert entries(cache) == []  # neither the entry nor its temporary file


def test_no_temporary_files_are_left(tmp_path, mavoc_layout, folder_layout):
    cache = tmp_path / "cache"
    load_mavoc(mavoc_layout, cache=cache, progress=False)
    load_folder(folder_layout, cache=cache, progress=False)
    load_folder(folder_layout, cache=cache, progress=False)
    names = entries(cache)
    assert len(names) == 2 and all(n.startswith("chips-") and n.endswith(".pt") for n in names)


def test_skip_report_is_cached_and_warned_again(tmp_path, folder_layout, monkeypatch):
    cache = tmp_path / "cache"
    bad = folder_layout / "tank" / "0.png"
    bad.write_text("x")
    with pytest.warns(UserWarning, match=str(bad)):
        first = load_folder(folder_layout, skip_bad=True, cache=cache, progress=False)
    no_decoding(monkeypatch)
    with pytest.warns(UserWarning, match=rf"1 chip\(s\) skipped, 0 converted:\n  skipped {bad}"):
        second = load_folder(folder_layout, skip_bad=True, cache=cache, progress=False)
    assert second.report == first.report and len(second) == 8
    # a strict load is another entry, and still names the bad file
    monkeypatch.undo()
    with pytest.raises(DataError, match=str(bad)):
        load_folder(folder_layout, cache=cache, progress=False)


def test_saving_a_view_writes_only_its_chips(tmp_path, folder_layout):
    chips = load_folder(folder_layout, cache=False, progress=False).take([0, 5])
    path = cache_mod.save(tmp_path / "c", "g-k", chips)
    back = cache_mod.load(tmp_path / "c", "g-k", "x")
    assert back.images.shape[0] == 2 and back.chip_ids == chips.chip_ids
    assert torch.equal(back.pixels(), chips.pixels()) and path.exists()


def test_mstar_first_and_cached_loads_agree(tmp_path, mstar_root, monkeypatch):
    cache = tmp_path / "cache"
    first = load_mstar(mstar_root, cache=cache, progress=False)
    no_decoding(monkeypatch)
    second = load_mstar(mstar_root, cache=cache, progress=False)
    assert same_chips(first, second) and len(second) == 2746


def test_stale_temporary_files_of_a_killed_write_are_removed(tmp_path, make_folder_layout):
    import os
    import time

    from sartail.data import load_folder

    root = make_folder_layout(tmp_path / "chips")
    cache = tmp_path / "cache"
    load_folder(root, size=32, cache=cache, progress=False)
    entry = next(cache.glob("chips-*.pt"))
    group = entry.name.split("-")[1]
    old = cache / f".chips-{group}-deadbeef.pt.abc123xy.tmp"
    fresh = cache / f".chips-{group}-deadbeef.pt.def456xy.tmp"
    old.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    chip = sorted(root.rglob("*.png"))[0]
    os.utime(chip, (time.time() + 5, time.time() + 5))  # a changed file: a new entry is saved
    load_folder(root, size=32, cache=cache, progress=False)
    assert not old.exists() and fresh.exists()


# ------------------------------------------------------------------------------ generated chips
def test_generated_chips_are_made_once_then_read_back(tmp_path, monkeypatch):
    from sartail.data import sources
    from sartail.data.sources import synthetic as syn

    monkeypatch.setenv("SARTAIL_CACHE_DIR", str(tmp_path / "c"))
    calls = []
    real = syn.make_synthetic

    def counting(**kw):
        calls.append(kw)
        return real(**kw)
    monkeypatch.setattr(syn, "make_synthetic", counting)
    first = sources.load("synthetic:scale=0.002,test_per_class=3,seed=4", progress=False)
    again = sources.load("synthetic:scale=0.002,test_per_class=3,seed=4", progress=False)
    assert len(calls) == 1 and len(entries(tmp_path / "c")) == 2  # the training and the test chips
    assert same_chips(first, again) and again.synthetic and again.source == "synthetic:train"
    assert type(again.ids).__name__ == "GeneratedIds"  # kept lazy, not one string per chip
    direct = real(scale=0.002, test_per_class=3, seed=4, progress=False)[0]
    assert same_chips(direct, again)
    sources.load("synthetic:scale=0.002,test_per_class=3,seed=5", progress=False)  # another seed: made anew
    assert len(calls) == 2 and len(entries(tmp_path / "c")) == 4


def test_a_changed_generator_makes_new_chips_and_drops_the_old(tmp_path):
    code = tmp_path / "renderer.py"
    code.write_text("v = 1\n")
    made = []

    def make():
        made.append(1)
        return [ChipSet.from_tensors(torch.full((3, 1, 4, 4), len(made), dtype=torch.uint8), [0, 1, 0],
                                      ["a", "b"], source="gen", synthetic=True)]
    args = ("toy", {"n": 3}, [code])
    a = cache_mod.generated(make, *args, parts=1, cache=tmp_path / "c")[0]
    b = cache_mod.generated(make, *args, parts=1, cache=tmp_path / "c")[0]
    assert len(made) == 1 and same_chips(a, b) and b.synthetic and b.source == "gen"
    old = entries(tmp_path / "c")
    code.write_text("v = 2\n")  # the renderer changed: its chips are made again, the stale entry goes
    c = cache_mod.generated(make, *args, parts=1, cache=tmp_path / "c")[0]
    assert len(made) == 2 and int(c.pixels()[0, 0, 0, 0]) == 2
    assert len(entries(tmp_path / "c")) == 1 and entries(tmp_path / "c") != old
    cache_mod.generated(make, *args, parts=1, cache=False)
    assert len(made) == 3
    with pytest.raises(ValueError, match="made 1 chip sets, expected 2"):
        cache_mod.generated(make, "toy", {"n": 4}, [code], parts=2, cache=tmp_path / "c")


def test_the_generated_chips_key_covers_every_renderer_module():
    """A change to any module that makes the synthetic pixels must make new chips, not read old ones."""
    from pathlib import Path

    from sartail.data import random_fields, render_parts
    from sartail.data.sources import RENDERER_CODE
    from sartail.data.sources import synthetic as syn

    assert {Path(p).name for p in RENDERER_CODE} == {Path(m.__file__).name for m in (syn, render_parts, random_fields)}
