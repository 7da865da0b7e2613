"""Side images and predictions the Grand Prize / villa code wrote at the padded size (bottom/
right to a multiple of 256: ``256 - H % 256``, a whole 256 where H is one already, or to the
next multiple) are read as their top-left H x W, said once; other sizes stay refused."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.headless import evaluate_file
from inkloop.io import SegmentError, labels_from_prediction, open_segment, read_label_image
from inkloop.io._label_images import check_side_image_size


def _padded(image: np.ndarray, size: tuple[int, int], fill: int = 255) -> np.ndarray:
    """``image`` padded bottom/right to ``size`` with ``fill`` (not zero: what a model
    predicted there is thrown away, whatever it is)."""
    padded = np.full(size, fill, image.dtype)
    padded[: image.shape[0], : image.shape[1]] = image
    return padded


def _said(call):
    """What ``call`` returns, and the InkloopWarnings it gave, as text."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, InkloopWarning)]


@pytest.mark.parametrize(
    ("shape", "padded"),
    [
        ((64, 96), (256, 256)),
        ((256, 40), (512, 256)),  # GP inference: a whole 256 below an image of 256 rows
        ((256, 40), (256, 256)),  # villa's loaders: padded to the next multiple only
    ],
)
@pytest.mark.parametrize("ink", [True, False])
def test_a_padded_side_image_reads_as_its_top_left(tmp_path, shape, padded, ink):
    rng = np.random.default_rng(0)
    labels = (rng.random(shape) < 0.3).astype(np.uint8) * 255
    path = tmp_path / "seg_inklabels.png"
    Image.fromarray(_padded(labels, padded)).save(path)

    check_side_image_size(path, shape)  # no error: its header is fine as it is
    read, said = _said(lambda: read_label_image(path, shape, ink=ink))

    np.testing.assert_array_equal(read, labels if ink else labels > 0)
    (notice,) = said
    size = f"{shape[0]}x{shape[1]}"
    assert notice.startswith(f"{path}: read its top-left {size} (the image is ")
    assert f"{padded[0]}x{padded[1]}" in notice


@pytest.mark.parametrize("size", [(80, 100), (320, 96), (256, 352), (512, 512)])
def test_a_larger_image_of_another_size_is_told_to_be_cropped_not_resized(tmp_path, size):
    path = tmp_path / "seg_mask.png"
    Image.fromarray(np.zeros(size, np.uint8)).save(path)

    with pytest.raises(SegmentError) as refused:
        check_side_image_size(path, (64, 96))

    assert str(refused.value) == (
        f"{path}: image is {size[0]}x{size[1]} but the layers are 64x96: move it out of "
        f"{tmp_path} or crop it to 64x96 from the top-left"
    )


def test_an_image_larger_one_way_and_smaller_the_other_is_told_neither(tmp_path):
    path = tmp_path / "seg_mask.png"
    Image.fromarray(np.zeros((96, 64), np.uint8)).save(path)  # turned a quarter

    with pytest.raises(SegmentError, match=r"64x96: move it out of [^ ]+$"):
        check_side_image_size(path, (64, 96))


def _labels_and_prediction(folder, tmp_path):
    labels = folder / f"{folder.name}_inklabels.png"
    ink = np.asarray(Image.open(labels))
    prediction = (ink // 2 + 60).astype(np.uint8)  # right where ink is, not everywhere
    Image.fromarray(prediction).save(tmp_path / "prediction.png")
    return labels, ink, prediction


def test_evaluate_scores_a_padded_prediction_by_its_top_left(segment_folder, tmp_path):
    labels, _, prediction = _labels_and_prediction(segment_folder, tmp_path)
    padded = tmp_path / f"{segment_folder.name}_prediction.png"
    Image.fromarray(_padded(prediction, (256, 256))).save(padded)

    scores, said = _said(lambda: evaluate_file(padded, labels))

    assert scores == evaluate_file(tmp_path / "prediction.png", labels)
    assert said == [
        f"{padded}: read its top-left 64x96 (the image is 256x256, padded bottom/right to a "
        "multiple of 256 as the Grand Prize code pads its files)"
    ]


def test_evaluate_scores_against_padded_labels(segment_folder, tmp_path):
    labels, ink, _ = _labels_and_prediction(segment_folder, tmp_path)
    padded = tmp_path / "padded_inklabels.png"
    Image.fromarray(_padded(ink, (256, 256))).save(padded)
    mask = tmp_path / "padded_mask.png"
    Image.fromarray(_padded(np.full(ink.shape, 255, np.uint8), (256, 256), 0)).save(mask)

    scores = evaluate_file(tmp_path / "prediction.png", padded, mask)
    unpadded = evaluate_file(tmp_path / "prediction.png", labels)

    assert scores.pop("supervision") == str(mask)
    assert unpadded.pop("supervision") == "all"
    assert scores == unpadded


def test_evaluate_still_refuses_a_prediction_of_another_size(segment_folder, tmp_path):
    labels, _, prediction = _labels_and_prediction(segment_folder, tmp_path)
    Image.fromarray(_padded(prediction, (300, 300))).save(tmp_path / "other.png")

    refused = r"image is 64x96 but the prediction other\.png is 300x300$"
    with pytest.raises(SegmentError, match=refused):
        evaluate_file(tmp_path / "other.png", labels)


def _pad_side_images(folder) -> dict[str, np.ndarray]:
    """``folder``'s mask and ink labels saved again padded to 256 x 256, as the Grand Prize
    code writes them; their pixels as they were."""
    originals = {}
    for kind in ("mask", "inklabels"):
        path = folder / f"{folder.name}_{kind}.png"
        originals[kind] = np.asarray(Image.open(path).convert("L"))
        Image.fromarray(_padded(originals[kind], (256, 256))).save(path)
    return originals


def test_a_segment_with_padded_side_images_opens_at_its_own_size(segment_folder, capsys):
    originals = _pad_side_images(segment_folder)
    segment = open_segment(segment_folder)

    (ink, mask), said = _said(lambda: (np.asarray(segment.ink_labels), np.asarray(segment.mask)))

    np.testing.assert_array_equal(ink, originals["inklabels"])
    np.testing.assert_array_equal(mask, originals["mask"] > 0)
    assert [notice.split(": ")[0] for notice in said] == [
        str(segment.files["ink_labels"]),
        str(segment.files["mask"]),
    ]
    assert main(["info", str(segment_folder)]) == 0
    assert json.loads(capsys.readouterr().out)["problems"] == []


def test_labels_start_from_a_padded_prediction(segment_folder, tmp_path):
    segment = open_segment(segment_folder)
    _, _, prediction = _labels_and_prediction(segment_folder, tmp_path)
    padded = tmp_path / f"{segment.name}_prediction.png"
    Image.fromarray(_padded(prediction, (256, 256))).save(padded)

    (ink, supervised, _), said = _said(lambda: labels_from_prediction(segment, padded))

    expected = labels_from_prediction(segment, tmp_path / "prediction.png")
    np.testing.assert_array_equal(ink, expected[0])
    np.testing.assert_array_equal(supervised, expected[1])
    assert [notice.split(": ")[0] for notice in said] == [str(padded)]


@pytest.mark.parametrize(
    ("shape", "size"),
    [((64, 96), (128, 192)), ((64, 96), (256, 384)), ((300, 420), (600, 840))],
)
def test_a_side_image_scaled_up_exactly_is_told_to_be_resized_not_cropped(tmp_path, shape, size):
    path = tmp_path / "seg_mask.png"
    Image.fromarray(np.zeros(size, np.uint8)).save(path)

    with pytest.raises(SegmentError) as refused:
        check_side_image_size(path, shape)

    scale, wanted = size[0] // shape[0], f"{shape[0]}x{shape[1]}"
    assert str(refused.value) == (
        f"{path}: image is {size[0]}x{size[1]} but the layers are {wanted}: move it out of "
        f"{tmp_path} or resize it to {wanted} (it is exactly {scale}x that size: scaled)"
    )


@pytest.mark.parametrize(
    ("shape", "size"), [((256, 256), (512, 512)), ((128, 256), (256, 512)), ((64, 64), (256, 256))]
)
def test_a_padded_size_that_is_also_scaled_exactly_is_refused_with_both_readings(
    tmp_path, shape, size
):
    path = tmp_path / "seg_inklabels.png"
    Image.fromarray(np.zeros(size, np.uint8)).save(path)
    wanted = f"{shape[0]}x{shape[1]}"
    readings = (
        f"or scaled {size[0] // shape[0]}x: inkloop cannot tell which): {{}}crop it to {wanted} "
        f"from the top-left if it is padded, or resize it to {wanted} if it is scaled"
    )

    with pytest.raises(SegmentError) as refused:
        check_side_image_size(path, shape)
    assert str(refused.value).endswith(readings.format(f"move it out of {tmp_path}, "))
    with pytest.raises(SegmentError) as refused:  # not read as its top-left
        read_label_image(path, shape, ink=True)
    assert str(refused.value).startswith(f"{path}: image is {size[0]}x{size[1]} but the layers")
    assert str(refused.value).endswith(readings.format(""))
