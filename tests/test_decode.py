"""Decoding one chip: 8-bit greyscale, centre crop or zero pad (never resize), clear errors."""
import numpy as np
import pytest
from PIL import Image

from sartail.data.decode import DecodeOptions, decode_chip, fit_chip
from sartail.errors import DataError

NATIVE = DecodeOptions(size=None)


def ramp(h, w):
    """A chip whose pixel (i, j) is ``(i * w + j) % 251``, so any crop can be located."""
    return (np.arange(h * w).reshape(h, w) % 251).astype(np.uint8)


# ------------------------------------------------------------------ options
def test_options_normalise_the_size():
    assert DecodeOptions(size=64).size == (64, 64)
    assert DecodeOptions(size=[48, 40]).size == (48, 40)
    assert DecodeOptions(size=None).size is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 0}, "positive"),
        ({"size": (4, 4, 4)}, "positive"),
        ({"fit": "resize"}, "fit must be"),
        ({"colour": "ignore"}, "colour must be"),
        ({"depth": "truncate"}, "depth must be"),
    ],
)
def test_options_reject_bad_values(kwargs, match):
    with pytest.raises(DataError, match=match):
        DecodeOptions(**kwargs)


# ------------------------------------------------------------------ crop and pad
def test_larger_chip_is_centre_cropped():
    a = ramp(10, 12)
    out = fit_chip(a, DecodeOptions(size=(4, 6)))
    np.testing.assert_array_equal(out, a[3:7, 3:9])


def test_odd_excess_crops_one_more_at_the_far_side():
    a = ramp(7, 7)
    np.testing.assert_array_equal(fit_chip(a, DecodeOptions(size=4)), a[1:5, 1:5])


def test_smaller_chip_is_zero_padded_around_the_centre():
    a = np.full((3, 4), 9, np.uint8)
    out = fit_chip(a, DecodeOptions(size=(6, 7)))
    assert out.shape == (6, 7) and out.dtype == np.uint8
    assert (out[1:4, 1:5] == 9).all()
    assert out.sum() == 9 * 12  # everything else is zero


def test_mixed_crop_and_pad():
    a = ramp(10, 3)
    out = fit_chip(a, DecodeOptions(size=(4, 5)))
    np.testing.assert_array_equal(out[:, 1:4], a[3:7])
    assert (out[:, [0, 4]] == 0).all()


def test_crop_mode_refuses_a_smaller_chip_naming_it():
    with pytest.raises(DataError, match=r"chip\.png: chip of 8x8 px is smaller than the requested 16x16"):
        fit_chip(np.zeros((8, 8), np.uint8), DecodeOptions(size=16, fit="crop"), "chip.png")
    # larger chips are still cropped in crop mode
    assert fit_chip(ramp(20, 20), DecodeOptions(size=16, fit="crop")).shape == (16, 16)


def test_no_size_keeps_the_native_chip():
    a = ramp(5, 9)
    np.testing.assert_array_equal(fit_chip(a, NATIVE), a)


# ------------------------------------------------------------------ decoding formats
def test_grey_png_round_trips_exactly(tmp_path, write_chip):
    a = ramp(30, 20)
    arr, note = decode_chip(write_chip(tmp_path / "g.png", a), NATIVE)
    np.testing.assert_array_equal(arr, a)
    assert note is None


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".jpeg"])
def test_every_supported_format_decodes(tmp_path, write_chip, suffix):
    a = np.full((20, 20), 77, np.uint8)
    arr, _ = decode_chip(write_chip(tmp_path / f"c{suffix}", a, **({"quality": 100} if suffix == ".jpeg" else {})))
    assert arr.shape == (56, 56) and arr.dtype == np.uint8
    assert (arr[18:38, 18:38] == 77).all() and arr[:18].sum() == 0


def test_chips_are_cropped_never_resized(tmp_path, write_chip):
    """MSTAR-like chips of 128 and 193 px: the crop keeps the central pixels untouched."""
    big, small = ramp(193, 192), ramp(128, 128)
    out_big, _ = decode_chip(write_chip(tmp_path / "big.png", big), DecodeOptions(size=64))
    out_small, _ = decode_chip(write_chip(tmp_path / "small.png", small), DecodeOptions(size=64))
    np.testing.assert_array_equal(out_big, big[64:128, 64:128])
    np.testing.assert_array_equal(out_small, small[32:96, 32:96])


def test_sixteen_bit_chip_is_scaled_with_a_note(tmp_path, write_chip):
    a = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    path = write_chip(tmp_path / "d16.png", a)
    arr, note = decode_chip(path, NATIVE)
    assert arr.tolist() == [[0, 1, 255, 128]]
    assert str(path) in note and "I;16" in note and "8 bits" in note


def test_sixteen_bit_chip_refused_names_the_file(tmp_path, write_chip):
    path = write_chip(tmp_path / "d16.png", np.zeros((8, 8), np.uint16))
    with pytest.raises(DataError, match=r"d16\.png: I;16 chip \(more than 8 bits\)"):
        decode_chip(path, DecodeOptions(size=None, depth="refuse"))


def test_float_tiff_is_stretched_to_8_bits(tmp_path, write_chip):
    a = np.linspace(-1.0, 3.0, 25, dtype=np.float32).reshape(5, 5)
    arr, note = decode_chip(write_chip(tmp_path / "f.tif", a), NATIVE)
    assert arr.min() == 0 and arr.max() == 255 and "F chip" in note


def test_rgb_chip_is_converted_with_a_note(tmp_path, write_chip):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 255
    path = write_chip(tmp_path / "rgb.png", rgb)
    arr, note = decode_chip(path, NATIVE)
    assert arr.shape == (4, 4) and (arr == 76).all()  # ITU-R 601 luma of pure red
    assert str(path) in note and "RGB chip converted to greyscale" in note


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P"])
def test_colour_chip_refused_names_the_file(tmp_path, mode):
    path = tmp_path / f"c_{mode}.png"
    Image.new(mode, (6, 6)).save(path)
    with pytest.raises(DataError, match=rf"c_{mode}\.png: {mode} chip where 8-bit greyscale is expected"):
        decode_chip(path, DecodeOptions(size=None, colour="refuse"))


def test_one_bit_chip_is_greyscale(tmp_path, write_chip):
    arr, note = decode_chip(write_chip(tmp_path / "b.png", np.eye(4, dtype=bool)), NATIVE)
    assert note is None and arr.tolist()[0] == [255, 0, 0, 0]


# ------------------------------------------------------------------ bad files
def test_truncated_png(tmp_path, write_chip):
    path = write_chip(tmp_path / "t.png", np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"t\.png: unreadable or truncated image"):
        decode_chip(path)


def test_truncated_jpeg(tmp_path, write_chip):
    path = write_chip(tmp_path / "t.jpeg", np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=r"t\.jpeg: unreadable or truncated image"):
        decode_chip(path)


def test_zero_byte_jpeg(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.jpg: empty file \(0 bytes\)"):
        decode_chip(path)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a chip\n")
    with pytest.raises(DataError, match=r"notes\.png: not an image file"):
        decode_chip(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"gone\.png"):
        decode_chip(tmp_path / "gone.png")


def test_small_chip_with_padding_off(tmp_path, write_chip):
    path = write_chip(tmp_path / "tiny.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match=r"tiny\.png: chip of 8x8 px is smaller than the requested 56x56"):
        decode_chip(path, DecodeOptions(size=56, fit="crop"))
