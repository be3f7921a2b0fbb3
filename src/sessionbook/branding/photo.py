"""The coach's photo or logo: checked with Pillow, then re-encoded small, clean and upright.

Only PNG, JPEG and WebP are accepted, at most 2 MB as uploaded. The file is verified, its
pixel count bounded before anything is decoded (a small file can unpack into gigabytes), and
the saved copy is new pixels: EXIF orientation applied, colour profile converted to sRGB, every
piece of metadata (EXIF with its GPS position, XMP, comments) left behind, fitted within
512x512 and written as WebP.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_MAX_SIDE = 512
# Twice a 24-megapixel camera's frame: a real photo fits, a decompression bomb does not.
PHOTO_MAX_PIXELS = 50_000_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
STORED_CONTENT_TYPE = "image/webp"
_LOSSY_QUALITY = 85


class PhotoRefused(Exception):
    """The upload is not a photo we keep; the message says why, for the form to show."""


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    data: bytes
    content_type: str
    version: str
    width: int
    height: int


def process_photo(upload: bytes) -> ProcessedPhoto:
    """The stored form of an uploaded photo, or PhotoRefused. CPU-bound: run it in a thread."""
    if len(upload) > PHOTO_MAX_BYTES:
        raise PhotoRefused("is larger than 2 MB; please choose a smaller image")
    if not upload:
        raise PhotoRefused("is an empty file")
    source_format = _verified_format(upload)
    try:
        with Image.open(io.BytesIO(upload), formats=ACCEPTED_FORMATS) as image:
            _check_pixels(image)
            if source_format == "JPEG":
                # Decode at a reduced scale when the JPEG is much larger than we keep.
                image.draft("RGB", (PHOTO_MAX_SIDE * 2, PHOTO_MAX_SIDE * 2))
            upright = ImageOps.exif_transpose(image)
            upright.load()
            icc_profile = image.info.get("icc_profile")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoRefused("could not be read as an image; it may be damaged") from error
    pixels = _in_srgb(upright, icc_profile)
    pixels.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
    clean = _without_metadata(pixels)
    encoded = io.BytesIO()
    # A PNG is usually a logo with sharp edges: kept lossless. Photos are encoded lossy.
    lossless = source_format == "PNG"
    clean.save(
        encoded, format="WEBP", lossless=lossless, quality=_LOSSY_QUALITY, method=4, exif=b""
    )
    data = encoded.getvalue()
    return ProcessedPhoto(
        data=data,
        content_type=STORED_CONTENT_TYPE,
        version=hashlib.sha256(data).hexdigest(),
        width=clean.width,
        height=clean.height,
    )


def _verified_format(upload: bytes) -> str:
    """The format Pillow recognises, after its integrity check; refuses any other kind."""
    try:
        with Image.open(io.BytesIO(upload), formats=ACCEPTED_FORMATS) as probe:
            _check_pixels(probe)
            image_format = probe.format
            probe.verify()
    except UnidentifiedImageError as error:
        raise PhotoRefused("must be a PNG, JPEG or WebP image") from error
    except Image.DecompressionBombError as error:
        raise PhotoRefused(_too_many_pixels()) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise PhotoRefused("could not be read as an image; it may be damaged") from error
    if image_format not in ACCEPTED_FORMATS:
        raise PhotoRefused("must be a PNG, JPEG or WebP image")
    return image_format


def _check_pixels(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1 or width * height > PHOTO_MAX_PIXELS:
        raise PhotoRefused(_too_many_pixels())


def _too_many_pixels() -> str:
    return f"has too many pixels (at most {PHOTO_MAX_PIXELS // 1_000_000} million)"


def _in_srgb(image: Image.Image, icc_profile: object) -> Image.Image:
    """RGB or RGBA pixels, converted from the image's own colour profile when it has one."""
    mode = "RGBA" if _has_alpha(image) else "RGB"
    if isinstance(icc_profile, bytes) and icc_profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            target = ImageCms.createProfile("sRGB")
            in_srgb = ImageCms.profileToProfile(image, source, target, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            in_srgb = None  # a broken profile: keep the pixels as they are, not refuse them
        if in_srgb is not None:
            return in_srgb
    return image.convert(mode)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _without_metadata(image: Image.Image) -> Image.Image:
    """The same pixels in a new image that carries nothing else."""
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    clean.info = {}
    return clean
