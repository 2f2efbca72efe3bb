"""Image files -> the same pictures without metadata (EXIF, XMP, ICC, text chunks, comments).

Owns: re-encoding raster images with Pillow so that only the pixels (and what is needed to show them:
transparency, animation timing) survive. Never reads or writes files itself.
"""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

# What a re-encoded image may keep from the original's info: what it needs to look the same.
KEEP_INFO = ("transparency", "duration", "loop", "background", "disposal")
EXIF_ORIENTATION = 0x0112


class NotAnImage(ValueError):
    """The bytes are not an image Pillow can read."""


def strip_metadata(data: bytes) -> bytes:
    """Return ``data`` re-encoded without metadata; raise ``NotAnImage`` if it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                return _reencode(im)
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        EOFError,
    ) as e:
        raise NotAnImage(str(e)) from e


def _reencode(im: Image.Image) -> bytes:
    fmt = im.format
    animated = getattr(im, "is_animated", False)
    if fmt == "JPEG" and im.getexif().get(EXIF_ORIENTATION, 1) != 1:
        im = ImageOps.exif_transpose(im)  # keep what the reader saw, without the tag that said it
        params = {"quality": 90}
    elif fmt == "JPEG":
        params = {"quality": "keep", "subsampling": "keep"}
    elif fmt == "WEBP":
        params = {"quality": 90, "save_all": animated}
    elif fmt in ("PNG", "GIF"):
        params = {"save_all": animated}
    else:
        raise NotAnImage(f"{fmt} is not a web image format this tool re-encodes")
    im.info = {key: value for key, value in im.info.items() if key in KEEP_INFO}
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()
