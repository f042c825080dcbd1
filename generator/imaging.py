"""Image encoders and decoders: the one place that turns pixels into file bytes and back.

Pure functions (no file I/O): the store writes the bytes, the backends send them.
"""

from __future__ import annotations

import io

from PIL import Image

__all__ = ["decode_rgb", "encode_jpeg"]


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    """``img`` as an optimised baseline JPEG (RGB) at ``quality``: the stored image format."""
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def decode_rgb(data: bytes) -> Image.Image:
    """Decode image bytes (any format PIL reads) to an RGB image; raises on bad bytes."""
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")

