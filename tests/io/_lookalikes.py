"""Files that look like segments by their names alone: the reader must decline them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
import zarr
from PIL import Image


def write_lookalikes(root: Path) -> list[Path]:
    """Write files and folders that look like segments by their names alone, but are not
    (colour, hyperstack, pyramid, 2D zarr, colour photos); returns their paths."""
    rng = np.random.default_rng(0)
    tifffile.imwrite(root / "rgb_pages.tif", rng.integers(0, 255, (4, 16, 16, 3), np.uint8))
    tifffile.imwrite(root / "one_rgb.tif", rng.integers(0, 255, (16, 16, 3), np.uint8))
    zcyx = rng.integers(0, 255, (4, 2, 16, 16), np.uint8)
    tifffile.imwrite(root / "zcyx.tif", zcyx, imagej=True, metadata={"axes": "ZCYX"})
    image = rng.integers(0, 255, (64, 64), np.uint8)
    with tifffile.TiffWriter(root / "pyramid.tif") as tiff:
        for step in (1, 2, 4):  # one image at three resolutions
            tiff.write(image[::step, ::step], tile=(16, 16), subfiletype=int(step > 1))
    zarr.create_array(root / "image.zarr", shape=(16, 16), dtype=np.float32)
    group = zarr.open_group(root / "image2d.zarr", mode="w", zarr_format=2)
    group.create_array("0", shape=(16, 16), dtype=np.uint8)
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}]}]
    (root / "frames").mkdir()
    for number in range(3):
        colour = rng.integers(0, 255, (8, 8, 3), np.uint8)
        Image.fromarray(colour).save(root / "frames" / f"frame_{number:03d}.png")
    names = ["rgb_pages.tif", "one_rgb.tif", "zcyx.tif", "pyramid.tif", "image.zarr"]
    return [root / name for name in [*names, "image2d.zarr", "frames"]]
