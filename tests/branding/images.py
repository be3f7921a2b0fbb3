"""Small images made on the spot for the brand tests: photos, logos and files that only pose."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

# EXIF tags: the camera's make, and the orientation ("rotate 90° clockwise to show").
EXIF_MAKE = 0x010F
EXIF_ORIENTATION = 0x0112
ROTATE_CLOCKWISE = 6
CAMERA = "BrandTestCam"


def jpeg_with_exif(width: int = 800, height: int = 400) -> bytes:
    """A landscape JPEG whose EXIF says to show it turned a quarter clockwise."""
    image = Image.new("RGB", (width, height), (200, 60, 40))
    # A marker in the top-left corner, to see where it ends up after the turn.
    image.paste((20, 20, 220), (0, 0, width // 4, height // 4))
    exif = Image.Exif()
    exif[EXIF_MAKE] = CAMERA
    exif[EXIF_ORIENTATION] = ROTATE_CLOCKWISE
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png(width: int, height: int, mode: str = "RGBA", *, transparent_corner: bool = False) -> bytes:
    image = Image.new(mode, (width, height), (10, 120, 90, 255) if mode == "RGBA" else 1)
    if transparent_corner:
        image.paste((0, 0, 0, 0), (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 0, 0)).save(out, format="GIF")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims `width` x `height` pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
