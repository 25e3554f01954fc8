"""Loaders on real chips (MSTAR, MAVOC test) and on generated MAVOC / folder layouts, and every
kind of bad input: each is a DataError that names the file, and skip_bad reports every skip."""
import shutil
import warnings

import numpy as np
import pytest
import torch
from conftest import chip_value
from PIL import Image

from sartail.data import (
    MAVOC_CLASS_NAMES,
    MAVOC_TRAIN_COUNTS,
    MSTAR_CLASS_NAMES,
    load,
    load_folder,
    load_mavoc,
    load_mavoc_test,
    load_mstar,
    parse_spec,
)
from sartail.errors import DataError

QUIET = {"cache": False, "progress": False}

#: MSTAR SOC training split, as its README lists it: class -> (chips, native H x W)
MSTAR_TABLE = {
    "2S1": (299, (158, 158)), "BMP2": (233, (128, 128)), "BRDM_2": (298, (129, 128)), "BTR60": (256, (128, 128)),
    "BTR70": (233, (128, 128)), "D7": (299, (178, 177)), "T62": (298, (173, 172)), "T72": (232, (128, 128)),
    "ZIL131": (299, (193, 192)), "ZSU_23_4": (299, (158, 158)),
}


def centre_values(chips):
    return chips.pixels()[:, 0, chips.chip_size[0] // 2, chips.chip_size[1] // 2].tolist()


def expected_values(chips):
    """The grey level each generated chip was written with, from its id ``<c>/SAR_<1000c+i>.png``."""
    out = []
    for cid in chips.chip_ids:
        n = int(cid.rsplit("_", 1)[1].split(".")[0])
        out.append(chip_value(n // 1000, n % 1000))
    return out


# ================================================================== real chips
def test_mstar_loads_every_chip_with_its_class(mstar_chips):
    assert len(mstar_chips) == 2746 and mstar_chips.num_classes == 10
    assert mstar_chips.class_names == MSTAR_CLASS_NAMES == tuple(MSTAR_TABLE)
    assert mstar_chips.class_counts().tolist() == [n for n, _ in MSTAR_TABLE.values()]
    assert mstar_chips.images.shape == (2746, 1, 64, 64) and mstar_chips.images.dtype == torch.uint8
    assert mstar_chips.labelled and not mstar_chips.synthetic
    # ids are paths relative to the split folder (file names repeat across classes)
    for cid, label in zip(mstar_chips.chip_ids[::97], mstar_chips.labels[::97].tolist()):
        cls, name = cid.split("/")
        assert cls == MSTAR_CLASS_NAMES[label] and name.startswith("hb") and name.endswith(".jpeg")
    assert mstar_chips.source.startswith("mstar:") and mstar_chips.source.endswith("train")


def test_mstar_chips_are_centre_crops_of_the_native_chips(mstar_root, mstar_chips):
    """One chip per class, compared with a plain NumPy centre crop: no resizing anywhere."""
    for label, (name, (_, (h, w))) in enumerate(MSTAR_TABLE.items()):
        pos = int(torch.nonzero(mstar_chips.labels == label)[0])
        path = mstar_root / "train" / mstar_chips.chip_ids[pos]
        native = np.asarray(Image.open(path).convert("L"))
        assert native.shape == (h, w), name
        top, left = (h - 64) // 2, (w - 64) // 2
        np.testing.assert_array_equal(mstar_chips.pixels(torch.tensor([pos]))[0, 0].numpy(),
                                      native[top:top + 64, left:left + 64])


def test_mstar_chip_size_does_not_give_the_class_away(mstar_chips):
    """After the crop no class has a zero border (a padded chip would betray its size)."""
    px = mstar_chips.pixels()
    border = torch.cat([px[:, 0, 0], px[:, 0, -1], px[:, 0, :, 0], px[:, 0, :, -1]], 1)
    zero_share = (border == 0).float().mean(1)
    for label in range(10):
        assert zero_share[mstar_chips.labels == label].mean() < 0.2


def test_mstar_root_may_be_the_split_folder_and_classes_can_be_picked(mstar_root):
    chips = load_mstar(mstar_root / "train", classes=["T72", "BMP2"], size=32, **QUIET)
    assert chips.class_names == ("T72", "BMP2") and chips.class_counts().tolist() == [232, 233]
    assert chips.chip_size == (32, 32)


def test_mstar_needs_a_chip_size(mstar_root):
    with pytest.raises(DataError, match="differ in size by class"):
        load_mstar(mstar_root, size=None, **QUIET)


def test_mstar_unknown_class(mstar_root):
    with pytest.raises(DataError, match=r"train: no class folder 'T27'.*Did you mean 'T72'"):
        load_mstar(mstar_root, classes=["T27"], **QUIET)


def test_mavoc_test_chips_load_unlabelled(mavoc_test_root):
    chips = load_mavoc_test(mavoc_test_root, **QUIET)
    assert len(chips) == 826 and chips.chip_size == (56, 56)
    assert (chips.labels == -1).all() and not chips.labelled
    assert chips.class_names == MAVOC_CLASS_NAMES
    assert all(i.startswith("SAR_") and i.endswith(".png") for i in chips.chip_ids)
    assert len(set(chips.chip_ids)) == 826
    px = chips.pixels().float()
    assert 80 < px.mean() < 120  # real MAVOC SAR chips: mid-grey speckle


def test_mavoc_test_chips_keep_native_pixels_at_their_size(mavoc_test_root):
    chips = load_mavoc_test(mavoc_test_root, **QUIET)
    sar = mavoc_test_root / "SAR"
    for pos in (0, 100, 825):
        native = np.asarray(Image.open(sar / chips.chip_ids[pos]))
        h, w = native.shape
        assert 56 <= h <= 59
        top, left = (h - 56) // 2, (w - 56) // 2
        np.testing.assert_array_equal(chips.pixels(torch.tensor([pos]))[0, 0].numpy(), native[top:top + 56, left:left + 56])


def test_mavoc_test_padding_and_crop_mode(mavoc_test_root):
    padded = load_mavoc_test(mavoc_test_root, size=60, **QUIET)
    assert padded.chip_size == (60, 60)
    px = padded.pixels()[:, 0]
    # every chip (56-59 px) is zero-padded: a 59 px chip gets its one row at the bottom
    assert ((px[:, 0] == 0).all(1) | (px[:, -1] == 0).all(1)).all()
    with pytest.raises(DataError, match=r"SAR_\d+\.png: chip of 5\dx5\d px is smaller than the requested 60x60"):
        load_mavoc_test(mavoc_test_root, size=60, fit="crop", **QUIET)


def test_load_spec_dispatches_on_real_folders(mstar_root, mavoc_test_root):
    assert len(load(f"mstar:{mstar_root}", cache=False, progress=False)) == 2746
    assert len(load(f"mavoc_test:{mavoc_test_root}", cache=False, progress=False)) == 826


# ================================================================== generated MAVOC layout
def test_mavoc_layout_loads_with_the_official_names(mavoc_layout):
    chips = load_mavoc(mavoc_layout, **QUIET)
    assert len(chips) == 30 and chips.chip_size == (56, 56)
    assert chips.class_names == MAVOC_CLASS_NAMES and len(MAVOC_TRAIN_COUNTS) == 10
    assert chips.class_counts().tolist() == [3] * 10
    assert all(cid.split("/")[1].startswith("SAR_") for cid in chips.chip_ids)  # EO chips ignored
    assert chips.labels.tolist() == [int(cid.split("/")[0]) for cid in chips.chip_ids]
    assert centre_values(chips) == expected_values(chips)
    assert chips.report == ()


def test_mavoc_chips_of_54_to_60_px_are_cropped_or_padded(mavoc_layout):
    chips = load_mavoc(mavoc_layout, **QUIET)
    by_id = dict(zip(chips.chip_ids, chips.pixels()[:, 0]))
    c54, c60 = by_id["0/SAR_0.png"], by_id["2/SAR_2000.png"]  # sizes cycle 54..60 over the chips written
    assert (c54[0] == 0).all() and (c54[-1] == 0).all() and (c54[1:-1, 1:-1] > 0).all()
    assert (c60 > 0).all()  # cropped: no padding at all
    native = load_mavoc(mavoc_layout, size=60, **QUIET)
    assert native.chip_size == (60, 60)


def test_mavoc_eo_modality(mavoc_layout):
    with pytest.warns(UserWarning, match="30 converted"):
        chips = load_mavoc(mavoc_layout, modality="EO", size=31, **QUIET)
    assert len(chips) == 30 and all("/EO_" in cid for cid in chips.chip_ids)
    assert len(chips.report) == 30 and "RGB chip converted to greyscale" in chips.report[0]
    with pytest.raises(DataError, match="modality must be"):
        load_mavoc(mavoc_layout, modality="IR", **QUIET)


def test_mavoc_absent_class_folder_leaves_the_class_empty(tmp_path, make_mavoc_layout):
    root = make_mavoc_layout(tmp_path / "m", counts=(4, 3, 2, 1, 0, 2, 0, 1, 1, 1), eo=False)
    chips = load_mavoc(root, **QUIET)
    assert chips.class_counts().tolist() == [4, 3, 2, 1, 0, 2, 0, 1, 1, 1]
    assert chips.num_classes == 10


@pytest.mark.parametrize("child", ["train_images", "SAR"])
def test_mavoc_root_may_hold_the_class_folders_one_level_down(tmp_path, make_mavoc_layout, child):
    make_mavoc_layout(tmp_path / "release" / child, counts=(2,) * 10, eo=False)
    chips = load_mavoc(tmp_path / "release", **QUIET)
    assert len(chips) == 20 and chips.source.endswith(child)


def test_mavoc_test_layout_with_or_without_the_sar_folder(tmp_path, write_chip):
    for i in range(5):
        write_chip(tmp_path / "t" / "SAR" / f"SAR_{i + 70}.png", np.full((57, 57), i + 1, np.uint8))
        write_chip(tmp_path / "t" / "SAR" / f"EO_{i + 70}.png", np.zeros((9, 9, 3), np.uint8))
    a = load_mavoc_test(tmp_path / "t", **QUIET)
    b = load_mavoc_test(tmp_path / "t" / "SAR", **QUIET)
    assert a.chip_ids == b.chip_ids == [f"SAR_{i + 70}.png" for i in range(5)]
    assert centre_values(a) == [1, 2, 3, 4, 5]


def test_mavoc_test_folder_without_chips(tmp_path):
    (tmp_path / "t").mkdir()
    with pytest.raises(DataError, match=r"t: no SAR_<id>\.png chips found"):
        load_mavoc_test(tmp_path / "t", **QUIET)


# ================================================================== generated folder layout
def test_folder_layout_classes_are_sorted_folder_names(folder_layout):
    chips = load_folder(folder_layout, size=40, **QUIET)
    assert chips.class_names == ("jeep", "tank", "truck")
    assert chips.class_counts().tolist() == [4, 3, 2]
    assert chips.chip_ids[:4] == ["jeep/0.png", "jeep/1.bmp", "jeep/2.tif", "jeep/3.jpg"]
    expected = [chip_value(lab, int(cid.split("/")[1].split(".")[0]))
                for cid, lab in zip(chips.chip_ids, chips.labels.tolist())]
    assert centre_values(chips) == expected


def test_folder_classes_pick_and_order(folder_layout):
    chips = load_folder(folder_layout, classes=["truck", "jeep"], **QUIET)
    assert chips.class_names == ("truck", "jeep") and chips.class_counts().tolist() == [2, 4]
    assert chips.labels.tolist() == [0, 0, 1, 1, 1, 1]


def test_folder_native_size_when_all_chips_agree(folder_layout):
    assert load_folder(folder_layout, size=None, **QUIET).chip_size == (40, 40)


def test_folder_native_size_refuses_mixed_sizes(folder_layout, write_chip):
    path = write_chip(folder_layout / "tank" / "odd.png", np.zeros((30, 30), np.uint8))
    with pytest.raises(DataError, match=rf"{path}: chip of 30x30 px differs from 40x40"):
        load_folder(folder_layout, size=None, **QUIET)


def test_folder_ignores_hidden_files_and_folders(folder_layout):
    (folder_layout / ".thumbs").mkdir()
    (folder_layout / "jeep" / ".DS_Store").write_bytes(b"\0\1")
    (folder_layout / "jeep" / "Thumbs.db").write_bytes(b"\0\1")
    assert load_folder(folder_layout, **QUIET).class_counts().tolist() == [4, 3, 2]


def test_load_spec(folder_layout, mavoc_layout):
    assert load(f"folder:{folder_layout}", **QUIET).class_names == ("jeep", "tank", "truck")
    assert len(load(f"mavoc:{mavoc_layout}", **QUIET)) == 30
    assert parse_spec("MAVOC:/x/y") == ("mavoc", "/x/y")
    synthetic = load("synthetic:scale=0.0005,seed=3,test_per_class=1", progress=False)
    assert synthetic.synthetic and synthetic.class_counts().tolist()[0] == 117


@pytest.mark.parametrize(
    ("spec", "match"),
    [("mavok:/x", r"unknown data kind 'mavok'.*Did you mean 'mavoc'"), ("folder:", "needs a path"),
     ("synthetic:scale", "bad synthetic option"), ("synthetic:seed=x", "bad value for synthetic option seed")],
)
def test_bad_specs(spec, match):
    with pytest.raises(DataError, match=match):
        load(spec)


def test_missing_root(tmp_path):
    with pytest.raises(DataError, match=rf"folder not found: {tmp_path / 'nowhere'}"):
        load_folder(tmp_path / "nowhere", **QUIET)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        load_mavoc(tmp_path / "file", **QUIET)


# ================================================================== bad input, one test each
def corrupt_truncate(path):
    path.write_bytes(path.read_bytes()[:60])


def corrupt_zero_bytes(path):
    path.write_bytes(b"")


def corrupt_text(path):
    path.write_text("these are my notes, not a chip\n")


def load_strict_and_skipping(loader, root, bad, message, **kw):
    """Strict load: DataError naming the first bad file. skip_bad: every bad file reported."""
    with pytest.raises(DataError) as err:
        loader(root, **QUIET, **kw)
    assert str(bad[0]) in str(err.value) and message in str(err.value)
    with pytest.warns(UserWarning) as caught:
        chips = loader(root, skip_bad=True, **QUIET, **kw)
    text = "\n".join(str(w.message) for w in caught)
    for path in bad:
        assert str(path) in text
        assert any(str(path) in r and r.startswith("skipped") for r in chips.report)
    assert f"{len(bad)} chip(s) skipped" in text
    return chips


def test_truncated_png_in_mavoc(mavoc_layout):
    bad = [mavoc_layout / "2" / "SAR_2000.png", mavoc_layout / "7" / "SAR_7001.png"]
    for p in bad:
        corrupt_truncate(p)
    chips = load_strict_and_skipping(load_mavoc, mavoc_layout, bad, "unreadable or truncated image")
    assert len(chips) == 28 and chips.class_counts().tolist() == [3, 3, 2, 3, 3, 3, 3, 2, 3, 3]
    assert "2/SAR_2000.png" not in chips.chip_ids
    assert centre_values(chips) == expected_values(chips)  # the good chips keep their labels


def test_zero_byte_jpeg_in_folder(folder_layout):
    bad = [folder_layout / "jeep" / "3.jpg"]
    corrupt_zero_bytes(bad[0])
    chips = load_strict_and_skipping(load_folder, folder_layout, bad, "empty file (0 bytes)")
    assert chips.class_counts().tolist() == [3, 3, 2]


def test_text_file_named_png_in_mavoc(mavoc_layout):
    bad = [mavoc_layout / "0" / "SAR_0.png", mavoc_layout / "9" / "SAR_9002.png"]
    for p in bad:
        corrupt_text(p)
    load_strict_and_skipping(load_mavoc, mavoc_layout, bad, "not an image file")


def test_non_image_file_among_the_chips(folder_layout):
    bad = [folder_layout / "tank" / "labels.csv", folder_layout / "truck" / "README"]
    for p in bad:
        p.write_text("id,class\n")
    chips = load_strict_and_skipping(load_folder, folder_layout, bad, "not an image file")
    assert chips.class_counts().tolist() == [4, 3, 2]


def test_small_chip_with_padding_off(folder_layout, write_chip):
    bad = [write_chip(folder_layout / "tank" / "tiny.png", np.zeros((8, 8), np.uint8))]
    chips = load_strict_and_skipping(load_folder, folder_layout, bad, "chip of 8x8 px is smaller than the requested 32x32",
                                     size=32, fit="crop")
    assert len(chips) == 9


def test_sixteen_bit_chips_converted_with_a_warning(mavoc_layout, write_chip):
    path = write_chip(mavoc_layout / "4" / "SAR_4100.png", np.full((56, 56), 65535, np.uint16))
    with pytest.warns(UserWarning, match=rf"1 converted:\n  {path}: I;16 chip scaled to 8 bits"):
        chips = load_mavoc(mavoc_layout, **QUIET)
    pos = chips.chip_ids.index("4/SAR_4100.png")
    assert (chips.pixels(torch.tensor([pos])) == 255).all()


def test_sixteen_bit_chips_refused(mavoc_layout, write_chip):
    bad = [write_chip(mavoc_layout / "4" / "SAR_4100.png", np.zeros((56, 56), np.uint16))]
    load_strict_and_skipping(load_mavoc, mavoc_layout, bad, "more than 8 bits", depth="refuse")


def test_rgb_chips_converted_with_a_warning(folder_layout, write_chip):
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[..., 1] = 200
    path = write_chip(folder_layout / "jeep" / "colour.png", rgb)
    with pytest.warns(UserWarning, match=rf"{path}: RGB chip converted to greyscale"):
        chips = load_folder(folder_layout, **QUIET)
    pos = chips.chip_ids.index("jeep/colour.png")
    assert chips.pixels(torch.tensor([pos]))[0, 0, 28, 28] == round(200 * 0.587)


def test_rgb_chips_refused(folder_layout, write_chip):
    bad = [write_chip(folder_layout / "jeep" / "colour.png", np.zeros((40, 40, 3), np.uint8))]
    load_strict_and_skipping(load_folder, folder_layout, bad, "RGB chip where 8-bit greyscale is expected",
                             colour="refuse")


def test_many_converted_chips_are_summarised_in_the_warning(tmp_path, write_chip):
    for i in range(25):
        write_chip(tmp_path / "f" / "a" / f"{i}.png", np.zeros((8, 8, 3), np.uint8))
        write_chip(tmp_path / "f" / "b" / f"{i}.png", np.zeros((8, 8), np.uint8))
    with pytest.warns(UserWarning) as caught:
        chips = load_folder(tmp_path / "f", size=8, **QUIET)
    assert len(chips.report) == 25  # every conversion is kept on the chip set
    assert "25 converted" in str(caught[0].message) and "15 more converted" in str(caught[0].message)


def test_empty_class_folder(folder_layout):
    (folder_layout / "zebra").mkdir()
    for kw in ({}, {"skip_bad": True}):  # an empty class is not a bad file: always an error
        with pytest.raises(DataError, match=rf"{folder_layout / 'zebra'}: empty class folder"):
            load_folder(folder_layout, **QUIET, **kw)


def test_empty_mavoc_class_folder(mavoc_layout):
    for p in (mavoc_layout / "5").iterdir():
        if p.name.startswith("SAR_"):
            p.unlink()  # only EO chips are left: no SAR chips in class 5
    with pytest.raises(DataError, match=rf"{mavoc_layout / '5'}: empty class folder \(no SAR_<id>\.png chips\)"):
        load_mavoc(mavoc_layout, **QUIET)


def test_class_whose_every_chip_is_bad(folder_layout):
    bad = sorted((folder_layout / "truck").iterdir())
    for p in bad:
        corrupt_text(p)
    with pytest.raises(DataError, match=r"every chip of class\(es\) \['truck'\] was skipped") as err:
        load_folder(folder_layout, skip_bad=True, **QUIET)
    assert all(str(p) in str(err.value) for p in bad)


def test_root_without_class_folders(tmp_path, write_chip):
    root = tmp_path / "flat"
    write_chip(root / "a.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match=rf"{root}: no class folders found"):
        load_folder(root, **QUIET)
    with pytest.raises(DataError, match=rf"{root}: no class folders found"):
        load_mstar(root, **QUIET)
    with pytest.raises(DataError, match=rf"{root}: no MAVOC class folders 0\.\.9 found"):
        load_mavoc(root, **QUIET)


def test_mavoc_folder_named_outside_0_to_9(mavoc_layout):
    shutil.copytree(mavoc_layout / "3", mavoc_layout / "11")
    with pytest.raises(DataError, match=rf"{mavoc_layout / '11'}: MAVOC class folders must be named 0\.\.9, found \['11'\]"):
        load_mavoc(mavoc_layout, **QUIET)


def test_mavoc_folder_with_a_name_that_is_not_a_number(mavoc_layout):
    (mavoc_layout / "sedan").mkdir()
    with pytest.raises(DataError, match=r"sedan: MAVOC class folders must be named 0\.\.9"):
        load_mavoc(mavoc_layout, **QUIET)


def test_duplicate_sar_ids_across_class_folders(mavoc_layout):
    shutil.copy(mavoc_layout / "1" / "SAR_1000.png", mavoc_layout / "6" / "SAR_1000.png")
    with pytest.raises(DataError) as err:
        load_mavoc(mavoc_layout, **QUIET)
    msg = str(err.value)
    assert "duplicate chip id 'SAR_1000.png'" in msg
    assert str(mavoc_layout / "1" / "SAR_1000.png") in msg and str(mavoc_layout / "6" / "SAR_1000.png") in msg


def test_unknown_requested_class(folder_layout):
    with pytest.raises(DataError, match=rf"{folder_layout}: no class folder 'tnak'.*Did you mean 'tank'"):
        load_folder(folder_layout, classes=["jeep", "tnak"], **QUIET)


def test_skip_bad_reports_every_kind_of_bad_file_together(folder_layout, write_chip):
    corrupt_truncate(folder_layout / "jeep" / "0.png")
    corrupt_zero_bytes(folder_layout / "jeep" / "3.jpg")
    corrupt_text(folder_layout / "tank" / "1.bmp")
    (folder_layout / "truck" / "notes.txt").write_text("x")
    bad = [folder_layout / "jeep" / "0.png", folder_layout / "jeep" / "3.jpg", folder_layout / "tank" / "1.bmp",
           folder_layout / "truck" / "notes.txt"]
    with pytest.warns(UserWarning) as caught:
        chips = load_folder(folder_layout, skip_bad=True, **QUIET)
    text = str(caught[0].message)
    assert "4 chip(s) skipped" in text and all(str(p) in text for p in bad)
    assert len([r for r in chips.report if r.startswith("skipped")]) == 4
    assert chips.class_counts().tolist() == [2, 2, 2]


def test_first_bad_file_in_file_order_is_named(tmp_path, make_folder_layout):
    root = make_folder_layout(tmp_path / "many", counts={"a": 40, "b": 40}, size=8)
    for name in ("a/37.jpg", "b/5.jpg", "b/30.png"):
        corrupt_text(root / name)
    for _ in range(3):  # decoding runs in threads; the error must not depend on which finishes first
        with pytest.raises(DataError, match=rf"{root / 'a' / '37.jpg'}: not an image"):
            load_folder(root, size=8, **QUIET)


def test_progress_bar_does_not_change_the_result(folder_layout, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = load_folder(folder_layout, cache=False, progress=True)
    b = load_folder(folder_layout, **QUIET)
    assert torch.equal(a.pixels(), b.pixels())
    assert capsys.readouterr().out == ""  # the bar goes to stderr; nothing is printed
