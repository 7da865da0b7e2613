"""A VC3D surface folder (tifxyz: x.tif, y.tif, z.tif, meta.json) with its layers rendered
into ``layers/``: its ``mask.tif`` is the surface grid's validity mask, the papyrus mask only
where it is the layers' size; no message asks to move or resize VC3D's file. A user's own
``mask.png`` there is not VC3D's: one of the wrong size is said to be so, as anywhere."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import tifffile

from inkloop.cli import main
from inkloop.io import SegmentError, open_segment, write_layer, write_png

LAYERS = (3, 16, 24)
GRID = (4, 6)  # the surface's points: a coarser grid than the rendered layers


def _surface(folder, mask_shape=GRID, meta=True, xyz=True):
    """A rendered VC3D surface: its grid, meta.json, mask.tif (255: keep) and layers/."""
    (folder / "layers").mkdir(parents=True)
    if xyz:
        for axis in "xyz":
            tifffile.imwrite(folder / f"{axis}.tif", np.ones(GRID, np.float32))
    if meta:
        (folder / "meta.json").write_text(json.dumps({"format": "tifxyz", "scale": [0.25, 0.25]}))
    keep = np.zeros(mask_shape, np.uint8)
    keep[1:, 1:] = 255
    tifffile.imwrite(folder / "mask.tif", keep)
    for z in range(LAYERS[0]):
        write_layer(folder / "layers" / f"{z:02d}.tif", np.full(LAYERS[1:], 100 * z, np.uint16))
    return keep


def _opened(folder):
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        segment = open_segment(folder)
    return segment, [str(warning.message) for warning in told]


@pytest.mark.parametrize(("meta", "xyz"), [(True, True), (True, False), (False, True)])
def test_a_surfaces_grid_mask_is_not_the_papyrus_mask(tmp_path, capsys, meta, xyz):
    folder = tmp_path / "seg"
    _surface(folder, meta=meta, xyz=xyz)

    segment, told = _opened(folder)

    assert segment.mask is None
    assert "mask" not in segment.files
    assert told == [
        f"{folder / 'mask.tif'}: not read as the papyrus mask: it is the VC3D surface's own "
        f"mask, 4 x 6, and the layers are 16 x 24; give a papyrus mask of the layers' size "
        f"(16 x 24) as {folder / 'seg_mask.png'}"
    ]
    assert main(["info", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["problems"] == []
    assert "move" not in err
    assert "resize" not in err


def test_a_surfaces_mask_of_the_layers_size_is_the_papyrus_mask(tmp_path):
    folder = tmp_path / "seg"
    keep = _surface(folder, mask_shape=LAYERS[1:])

    segment, told = _opened(folder)

    assert told == []
    assert segment.files["mask"] == folder / "mask.tif"
    np.testing.assert_array_equal(np.asarray(segment.mask), keep > 0)


def test_a_surfaces_own_named_mask_comes_first(tmp_path):
    folder = tmp_path / "seg"
    _surface(folder)
    write_png(folder / "seg_mask.png", np.full(LAYERS[1:], 255, np.uint8))

    segment, told = _opened(folder)

    assert told == []
    assert segment.files["mask"] == folder / "seg_mask.png"
    assert np.asarray(segment.mask).all()


def test_a_plain_mask_beside_layers_without_a_surface_is_still_read(tmp_path):
    """Outside a VC3D surface a mask.tif of another size is a user's mask, and said wrong."""
    folder = tmp_path / "seg"
    _surface(folder, meta=False, xyz=False)

    segment = open_segment(folder)

    assert segment.files["mask"] == folder / "mask.tif"


def test_a_users_wrongly_sized_mask_png_in_a_surface_is_told_to_be_resized(tmp_path):
    folder = tmp_path / "seg"
    _surface(folder)
    (folder / "mask.tif").unlink()
    write_png(folder / "mask.png", np.full((8, 12), 255, np.uint8))

    segment, told = _opened(folder)

    assert told == []
    assert segment.files["mask"] == folder / "mask.png"
    with pytest.raises(SegmentError, match=r"mask\.png: image is 8x12 .* resize it to 16x24"):
        np.asarray(segment.mask)


@pytest.mark.parametrize("flat_shape", [LAYERS[1:], (8, 12)])
def test_a_flat_mask_read_instead_is_named_not_asked_for(tmp_path, flat_shape):
    # closing review C21 of session 42, finding 4: "give a papyrus mask" though one was read
    folder = tmp_path / "seg"
    _surface(folder)
    flat = folder / "flat_mask.png"  # C14's case 9: VC3D's flattened mask, after mask.tif
    write_png(flat, np.full(flat_shape, 255, np.uint8))

    segment, told = _opened(folder)

    assert segment.files["mask"] == flat
    left_out = (
        f"{folder / 'mask.tif'}: not read as the papyrus mask: it is the VC3D surface's own "
        "mask, 4 x 6, and the layers are 16 x 24; "
    )
    asked = f"give a papyrus mask of the layers' size (16 x 24) as {folder / 'seg_mask.png'}"
    assert told == [left_out + (f"{flat} is read instead" if flat_shape == LAYERS[1:] else asked)]
