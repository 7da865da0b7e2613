"""Single 2D image files (TIFF, PNG, JPEG): cheap header checks and windowed reads."""

from __future__ import annotations

import os
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkloop.io._errors import SegmentError

TIFF_SUFFIXES = (".tif", ".tiff")
IMAGE_SUFFIXES = (*TIFF_SUFFIXES, ".png", ".jpg", ".jpeg")

# Segment masks are legitimately gigapixel images; Pillow's decompression-bomb guard
# (~179 Mpx) would refuse real ones, so inkloop's own opens allow up to 4 Gpx.
_MAX_PIXELS = 2**32
_PIL_LIMIT_LOCK = threading.Lock()  # one open at a time changes Pillow's process-wide limit
_PIL_GREY_MODES = {"L": np.uint8, "I;16": np.uint16, "I;16B": np.uint16, "I": np.int32}
_STRIP_BYTES = 1 << 20  # a decoded image is copied out of Pillow strip by strip of this size


@dataclass(frozen=True)
class ImageInfo:
    """Shape and dtype of a 2D image, read from its header."""

    path: Path
    shape: tuple[int, int]
    dtype: np.dtype
    grey: bool = True  # False for colour images (fine for masks, not for layers)


def image_info(path: Path) -> ImageInfo:
    """Read the header of a 2D image; raise SegmentError if it is missing, corrupt or
    truncated."""
    if not path.is_file():
        raise SegmentError(f"{path}: no such image file")
    if path.suffix.lower() in TIFF_SUFFIXES:
        return _tiff_info(path)
    with _open_pil(path) as image:
        dtype = _PIL_GREY_MODES.get(image.mode, np.uint8)
        grey = image.mode in _PIL_GREY_MODES or image.mode == "1"
        return ImageInfo(path, (image.height, image.width), np.dtype(dtype), grey)


def read_image(path: str | Path, *, grey: bool = False) -> np.ndarray:
    """Read a whole 2D image; ``grey=True`` turns colour images into one channel
    (`colour_to_grey`)."""
    path = Path(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            return _read_tiff(path, grey=grey)
        with _open_pil(path) as image:
            if grey and image.mode not in _PIL_GREY_MODES:
                return _pil_grey(image)
            return _pil_pixels(image)
    except SegmentError:
        raise
    except Exception as error:  # decoder errors come in many types; name the file once
        raise SegmentError(f"{path}: cannot be read ({error})") from error


def colour_to_grey(colour: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """One channel of a colour image (..., channels): the strongest channel at each pixel (a
    pure red or green stroke is full ink, not its luminance). Where the alpha varies (a layer
    painted on transparency, as painting programs export one): the colour over black,
    ``strongest * alpha / top`` (white or pure-colour strokes read as their alpha, grey ones
    keep their strength), or the alpha where the strokes that show are all black (their
    colour says nothing). What lies under full transparency counts for nothing: GIMP saves it
    as black, other programs keep the colour there."""
    strongest = colour.max(axis=-1)
    if alpha is None or alpha.min() == alpha.max():
        return strongest
    if not strongest.any(where=alpha > 0):  # black strokes on transparency
        return alpha
    return _over_black(strongest, alpha)


def _over_black(strongest: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``strongest`` composited over black by ``alpha`` (whose top value is opaque), rounded,
    in ``strongest``'s type: 8-bit images in 16-bit integers, not a float copy 8x their size."""
    top = np.iinfo(alpha.dtype).max if alpha.dtype.kind in "ui" else 1
    if strongest.dtype == np.uint8 and top == 255:
        mixed = strongest.astype(np.uint16)
        mixed *= alpha
        mixed += 127  # rounds to the nearest
        mixed //= 255
        return mixed.astype(np.uint8)
    mixed = strongest * (alpha / np.float64(top))
    return (np.rint(mixed) if strongest.dtype.kind in "ui" else mixed).astype(strongest.dtype)


def _pil_grey(image) -> np.ndarray:
    with_alpha = "A" in image.getbands() or "transparency" in image.info
    # one byte a pixel: 0/255, or the palette's grey levels (what the colour path gives),
    # where RGB and its strongest channel took 9x the memory and time of a grey image
    if not with_alpha and image.mode == "1":
        pixels = _pil_pixels(image).view(np.uint8)
        pixels *= 255  # as convert("L") gives it
        return pixels
    if not with_alpha and _grey_palette(image):
        return _pil_pixels(image.convert("L"))
    pixels = _pil_pixels(image.convert("RGBA" if with_alpha else "RGB"))
    return colour_to_grey(pixels[..., :3], pixels[..., 3] if with_alpha else None)


def _pil_pixels(image) -> np.ndarray:
    """``np.asarray(image)``, writable, without its copies: that joins ``tobytes()``'s chunks
    into one more copy of the whole image beside them and Pillow's own (a gigapixel mask
    peaked at 3.8x its result). A 1-bit image is unpacked from its packed bits into bool
    (numpy's bools from Pillow hold 255), others copied strip by strip into one array."""
    width, height = image.size
    if image.mode == "1":
        packed = np.frombuffer(image.tobytes(), np.uint8).reshape(height, -1)
        return np.unpackbits(packed, axis=1, count=width).view(np.bool_)
    first = np.asarray(image.crop((0, 0, width, 1)))
    pixels = np.empty((height, *first.shape[1:]), first.dtype)
    rows = max(1, _STRIP_BYTES // max(1, first.nbytes))
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        pixels[top:bottom] = np.asarray(image.crop((0, top, width, bottom)))
    return pixels


def _grey_palette(image) -> bool:
    """Whether ``image`` is a palette image whose colours are all grey."""
    palette = image.getpalette() if image.mode == "P" else None
    if not palette:
        return False
    red, green, blue = np.asarray(palette, np.uint8).reshape(-1, 3).T
    return bool((red == green).all() and (green == blue).all())


def _read_tiff(path: Path, *, grey: bool) -> np.ndarray:
    """The first page; with ``grey``, colour samples (interleaved or planar) made one."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        data = page.asarray()
        if not grey or page.samplesperpixel == 1:
            return data
        samples = np.moveaxis(data, page.axes.index("S"), -1)
        colours = 3 if page.photometric == tifffile.PHOTOMETRIC.RGB else 1
    alpha = samples[..., colours] if samples.shape[-1] > colours else None
    return colour_to_grey(samples[..., :colours], alpha)


def image_text(path: str | Path) -> dict[str, str]:
    """An image's text chunks (a PNG's, which precede its pixels); {} for a TIFF."""
    path = Path(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        return {}
    with _open_pil(path) as image:
        return {key: value for key, value in image.info.items() if isinstance(value, str)}


def open_window_reader(path: Path, info: ImageInfo):
    """An array-like over one image that reads only the requested window where it can.

    Uncompressed TIFFs are read with pread and compressed ones tile by tile through
    tifffile's zarr store; PNG and JPEG can only be decoded whole.
    """
    if path.suffix.lower() in TIFF_SUFFIXES:
        return _tiff_window_reader(path)
    return WholeImage(path, info)


class WholeImage:
    """Array-like that decodes the whole file on each read (PNG/JPEG have no random access)."""

    def __init__(self, path: Path, info: ImageInfo) -> None:
        self.path = path
        self.shape = info.shape
        self.dtype = info.dtype
        self.ndim = 2

    def __getitem__(self, key):
        return read_image(self.path)[key]


def _tiff_window_reader(path: Path):
    import tifffile

    from inkloop.io._raw import RawArray

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        if page.is_memmappable:
            dtype = np.dtype(page.dtype).newbyteorder(tif.byteorder)
            return RawArray(path, page.dataoffsets[0], page.shape, dtype)
    return decoding_tiff(path, key=0)


def decoding_tiff(path: Path, **imread_args):
    """A compressed TIFF's pixels read tile by tile through tifffile's zarr store (as
    `DecodingNamed`), whose file closes when the array goes: not at whatever garbage
    collection comes next, with a ResourceWarning, the file locked until then on Windows."""
    import tifffile
    import zarr

    from inkloop.io._decoding import DecodingNamed

    store = tifffile.imread(path, aszarr=True, **imread_args)
    array = DecodingNamed(zarr.open(store, mode="r"), path)
    weakref.finalize(array, store.close)
    return array


def tiff_data_end(pages) -> int | None:
    """Byte offset where the pages' image data ends; None if a page is missing."""
    if any(page is None for page in pages):
        return None
    extents = (zip(page.dataoffsets, page.databytecounts, strict=True) for page in pages)
    return max((offset + count for pairs in extents for offset, count in pairs), default=0)


def check_tiff_complete(path: Path, data_end: int | None) -> None:
    """Raise SegmentError if the image data runs past the end of the file."""
    size = os.path.getsize(path)
    if data_end is None or data_end > size:
        needs = "more pages" if data_end is None else f"{data_end} bytes"
        raise SegmentError(
            f"{path}: TIFF is truncated ({size} bytes on disk, its data needs {needs})"
        )


def _tiff_info(path: Path) -> ImageInfo:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            # a planar colour page is (samples, H, W): its size is its length and width
            size = (int(page.imagelength), int(page.imagewidth))
            dims, samples, dtype = len(page.shape), page.samplesperpixel, page.dtype
            check_tiff_complete(path, tiff_data_end([page]))
    except SegmentError:
        raise
    except Exception as error:  # tifffile raises several types for damaged files
        raise SegmentError(f"{path}: not a readable TIFF ({error})") from error
    if dims != 2 + (samples > 1):
        raise SegmentError(f"{path}: expected one 2D image, found shape {page.shape}")
    return ImageInfo(path, size, np.dtype(dtype), samples == 1)


def _open_pil(path: Path):
    from PIL import Image

    try:
        with _pil_limit_raised(Image):
            return Image.open(path)
    except Exception as error:  # Pillow raises several types for unreadable files
        raise SegmentError(f"{path}: not a readable image ({error})") from error


@contextmanager
def _pil_limit_raised(image_module):
    """Pillow's decompression-bomb limit (``MAX_IMAGE_PIXELS``, process-wide) at least
    `_MAX_PIXELS` inside, and as it was after: Pillow checks it in ``Image.open``. A limit
    of None (none at all) is left alone."""
    with _PIL_LIMIT_LOCK:
        before = image_module.MAX_IMAGE_PIXELS
        if before is not None:
            image_module.MAX_IMAGE_PIXELS = max(before, _MAX_PIXELS)
        try:
            yield
        finally:
            image_module.MAX_IMAGE_PIXELS = before
