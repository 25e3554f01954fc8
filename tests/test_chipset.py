"""ChipSet: validation, views that share the pixels, class removal and relabelling."""
import pytest
import torch

from sartail.data import UNLABELLED, ChipSet
from sartail.errors import DataError

NAMES = ("a", "b", "c", "d")


def make(labels=(0, 0, 0, 1, 1, 2, 2, 2, 2, 3), names=NAMES, size=4):
    """Chips whose every pixel holds the chip's position, so a view shows which rows it took."""
    n = len(labels)
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, size, size).clone()
    return ChipSet.from_tensors(images, labels, names, [f"{names[lab]}/{i}.png" for i, lab in enumerate(labels)])


def same_storage(view, base):
    return view.images.data_ptr() == base.images.data_ptr()


# ------------------------------------------------------------------ construction
def test_from_tensors_builds_an_identity_view():
    cs = make()
    assert len(cs) == 10 and cs.images.shape == (10, 1, 4, 4) and cs.images.dtype == torch.uint8
    assert cs.rows.tolist() == list(range(10))
    assert cs.class_ids == (0, 1, 2, 3) and cs.num_classes == 4 and cs.chip_size == (4, 4)
    assert cs.class_counts().tolist() == [3, 2, 4, 1]
    assert cs.labelled and not cs.synthetic
    assert cs.chip_ids[:2] == ["a/0.png", "a/1.png"]
    assert "10 chips of 4x4 px, 4 classes" in repr(cs)


def test_from_tensors_accepts_n_h_w_and_default_ids():
    cs = ChipSet.from_tensors(torch.zeros(3, 5, 6, dtype=torch.uint8), [0, 1, 1], ["x", "y"])
    assert cs.images.shape == (3, 1, 5, 6) and cs.chip_size == (5, 6)
    assert cs.ids == ("0000000", "0000001", "0000002")


@pytest.mark.parametrize(
    ("images", "labels", "names", "ids", "match"),
    [
        (torch.zeros(2, 1, 4, 4), [0, 1], ["x", "y"], None, "must be uint8"),
        (torch.zeros(2, 3, 4, 4, dtype=torch.uint8), [0, 1], ["x", "y"], None, r"\[N, 1, H, W\]"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), [0], ["x", "y"], None, "2 images but 1 labels"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), [0, 2], ["x", "y"], None, r"labels must lie in -1\.\.1"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), [0, -2], ["x", "y"], None, r"labels must lie in -1\.\.1"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), [0, 1], ["x", "x"], None, "not unique"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), [0, 1], ["x", "y"], ["p"], "2 images but 1 ids"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), [0, 1], ["x", "y"], ["p", "p"], "duplicate chip ids.*p"),
    ],
)
def test_from_tensors_rejects_bad_input(images, labels, names, ids, match):
    with pytest.raises(DataError, match=match):
        ChipSet.from_tensors(images, labels, names, ids)


def test_unlabelled_chips():
    cs = ChipSet.from_tensors(torch.zeros(3, 1, 2, 2, dtype=torch.uint8), [UNLABELLED] * 3, ["x", "y"])
    assert not cs.labelled
    assert cs.class_counts().tolist() == [0, 0]


# ------------------------------------------------------------------ views
def test_take_is_a_view_in_the_given_order():
    cs = make()
    view = cs.take([9, 0, 5])
    assert same_storage(view, cs) and view.images is cs.images
    assert view.rows.tolist() == [9, 0, 5]
    assert view.labels.tolist() == [3, 0, 2]
    assert view.chip_ids == ["d/9.png", "a/0.png", "c/5.png"]
    assert view.pixels()[:, 0, 0, 0].tolist() == [9, 0, 5]
    # a view of a view still points into the same storage
    inner = view.take([2])
    assert same_storage(inner, cs) and inner.rows.tolist() == [5]


def test_take_accepts_a_boolean_mask():
    cs = make()
    mask = cs.labels == 2
    view = cs.take(mask)
    assert view.rows.tolist() == [5, 6, 7, 8] and same_storage(view, cs)
    with pytest.raises(DataError, match="boolean mask of 3 entries"):
        cs.take(torch.tensor([True, False, True]))


def test_take_rejects_positions_out_of_range():
    with pytest.raises(DataError, match=r"0\.\.9"):
        make().take([10])
    with pytest.raises(DataError):
        make().take([-1])


def test_pixels_copies_only_the_chips_asked_for():
    cs = make()
    px = cs.take([3, 4]).pixels()
    assert px.shape == (2, 1, 4, 4) and px[:, 0, 0, 0].tolist() == [3, 4]
    assert px.data_ptr() != cs.images.data_ptr()
    assert cs.pixels(slice(1, 3))[:, 0, 0, 0].tolist() == [1, 2]
    assert cs.pixels(torch.tensor([7]))[:, 0, 0, 0].tolist() == [7]


def test_table_gives_counts_and_shares():
    rows = make().table()
    assert [r["name"] for r in rows] == list(NAMES)
    assert [r["count"] for r in rows] == [3, 2, 4, 1]
    assert [r["share"] for r in rows] == pytest.approx([0.3, 0.2, 0.4, 0.1])


# ------------------------------------------------------------------ class removal
def test_remove_classes_remaps_labels_and_shares_pixels():
    cs = make()
    rest = cs.remove_classes([1])
    assert same_storage(rest, cs)
    assert rest.class_names == ("a", "c", "d") and rest.class_ids == (0, 2, 3)
    assert rest.labels.tolist() == [0, 0, 0, 1, 1, 1, 1, 2]
    assert rest.rows.tolist() == [0, 1, 2, 5, 6, 7, 8, 9]
    assert rest.class_counts().tolist() == [3, 4, 1]
    # the pixels travel with their labels
    assert rest.pixels()[:, 0, 0, 0].tolist() == [0, 1, 2, 5, 6, 7, 8, 9]


def test_removal_by_name_equals_removal_by_id():
    cs = make()
    by_id, by_name = cs.remove_classes([0, 3]), cs.remove_classes(["a", "d"])
    assert by_id.rows.tolist() == by_name.rows.tolist() and by_id.labels.tolist() == by_name.labels.tolist()
    assert by_id.class_ids == by_name.class_ids == (1, 2)
    assert cs.remove_classes(["0", "3"]).class_ids == (1, 2)  # digit strings are ids ...


def test_numeric_class_names_are_matched_as_names_first():
    cs = make(labels=(0, 1, 2, 2), names=("10", "2", "30"))
    assert cs.remove_classes(["2"]).class_names == ("10", "30")  # ... unless a class has that name
    assert cs.remove_classes([2]).class_names == ("10", "2")  # an int is always an id


def test_removal_keeps_original_ids_for_a_second_removal():
    rest = make().remove_classes([1]).remove_classes([2])
    assert rest.class_ids == (0, 3) and rest.class_names == ("a", "d")
    assert rest.labels.tolist() == [0, 0, 0, 1]


def test_removal_inverse_mapping_gives_back_the_original_labels():
    cs = make()
    rest = cs.remove_classes([0, 2])
    assert rest.class_ids == (1, 3)
    assert torch.tensor(rest.class_ids)[rest.labels].tolist() == cs.labels[rest.rows].tolist()
    to_local = {c: i for i, c in enumerate(rest.class_ids)}
    assert [to_local[c] for c in cs.labels[rest.rows].tolist()] == rest.labels.tolist()


def test_keep_classes_orders_by_original_id():
    kept = make().keep_classes(["d", "b"])
    assert kept.class_names == ("b", "d") and kept.class_ids == (1, 3)
    assert kept.labels.tolist() == [0, 0, 1]


def test_unknown_class_is_an_error_with_a_suggestion():
    cs = make()
    with pytest.raises(DataError, match=r"no class named 'e'"):
        cs.remove_classes(["e"])
    with pytest.raises(DataError, match="Did you mean 'sedan'"):
        make(names=("sedan", "SUV", "van", "bus")).remove_classes(["sedna"])
    with pytest.raises(DataError, match=r"class 7 is not in this chip set"):
        cs.keep_classes([7])
    # a removed class is unknown to the view
    with pytest.raises(DataError, match="class 1 is not in this chip set"):
        cs.remove_classes([1]).remove_classes([1])


def test_removing_all_but_one_class_is_refused():
    with pytest.raises(DataError, match="leaves 1 class"):
        make().remove_classes([0, 1, 2])
    with pytest.raises(DataError, match="no classes to keep"):
        make().keep_classes([])


def test_removal_drops_unlabelled_chips():
    cs = make(labels=(0, 1, UNLABELLED, 2), names=("x", "y", "z"))
    assert cs.remove_classes(["y"]).rows.tolist() == [0, 3]


# ------------------------------------------------------------------ relabel
def test_relabel_maps_by_name_into_a_larger_class_space():
    cs = make(labels=(0, 1, 1, UNLABELLED), names=("van", "bus"))
    out = cs.relabel(["sedan", "bus", "van"])
    assert out.class_names == ("sedan", "bus", "van") and out.class_ids == (0, 1, 2)
    assert out.labels.tolist() == [2, 1, 1, UNLABELLED]
    assert same_storage(out, cs)


def test_relabel_refuses_a_class_outside_the_target_space():
    cs = make(labels=(0, 1), names=("van", "buss"))
    with pytest.raises(DataError, match=r"\['buss'\].*Did you mean 'bus'"):
        cs.relabel(["van", "bus"])


def test_generated_ids_behave_as_a_tuple_of_strings():
    from sartail.data.chipset import GeneratedIds

    labels = torch.tensor([0, 0, 1, 2])
    ids = GeneratedIds("synthetic/train", labels)
    expected = ("synthetic/train/0/0000000", "synthetic/train/0/0000001", "synthetic/train/1/0000002", "synthetic/train/2/0000003")
    assert len(ids) == 4 and tuple(ids) == expected and ids == expected and ids == list(expected)
    assert ids[-1] == expected[-1] and ids[1:3] == expected[1:3]
    with pytest.raises(IndexError):
        ids[4]
    assert ids == GeneratedIds("synthetic/train", labels.clone()) and ids != GeneratedIds("x", labels)
    chips = ChipSet.from_tensors(torch.zeros(4, 1, 2, 2, dtype=torch.uint8), labels, ("a", "b", "c"), ids)
    assert chips.ids is ids  # kept lazy, not turned into 4 strings
    view = chips.take(torch.tensor([3, 1]))
    assert view.chip_ids == [expected[3], expected[1]]
