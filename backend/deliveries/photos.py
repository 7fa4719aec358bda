"""Delivery proof photos: what is accepted and what is kept.

A photo is accepted when Pillow reads it as JPEG, PNG or WebP (whatever its name or declared
content type says) within ``MAX_PIXELS``. What is kept is a new JPEG drawn from its pixels only:
turned upright by its EXIF orientation, scaled down to ``MAX_SIDE_PX`` on its long side, with no
EXIF (so no GPS position, device or time), no ICC profile, no comment or other metadata.
"""

import io
import warnings
from typing import IO, cast

from django.conf import settings
from django.core.files.base import ContentFile, File
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.core.errors import InvalidInput
from backend.deliveries.errors import PhotoTooLarge

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# A door photo from a phone is 12 to 50 megapixels at most; more is a decompression bomb.
MAX_PIXELS = 50_000_000
MAX_SIDE_PX = 2560
JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"

_NOT_A_PHOTO = "Send a photo as a JPEG, PNG or WebP image."


def _upright_rgb(image: Image.Image) -> Image.Image:
    """The first frame, upright, in RGB (transparency on white), with no metadata."""
    image.seek(0)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
    # A fresh image from the pixels alone: nothing of the original's info (EXIF, ICC profile,
    # comments, XMP) can travel with it into the saved file.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    return clean


def proof_photo_clean(upload: File) -> "ContentFile[bytes]":
    """The photo re-encoded as a metadata-free JPEG, ready to store.

    Raises PhotoTooLarge above ``PROOF_PHOTO_MAX_BYTES`` and InvalidInput("photo") for anything
    that is not a readable JPEG, PNG or WebP image of at most ``MAX_PIXELS``."""
    size = getattr(upload, "size", None)
    if size is not None and size > settings.PROOF_PHOTO_MAX_BYTES:
        raise PhotoTooLarge()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            # ``formats`` limits which decoders Pillow even tries on the bytes.
            with Image.open(cast(IO[bytes], upload), formats=sorted(ACCEPTED_FORMATS)) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise InvalidInput("photo", _NOT_A_PHOTO)
                if image.width * image.height > MAX_PIXELS:
                    raise InvalidInput(
                        "photo", f"The photo must be at most {MAX_PIXELS // 1_000_000} megapixels."
                    )
                if image.format == "JPEG":  # decode at a reduced scale when it is larger
                    image.draft("RGB", (MAX_SIDE_PX, MAX_SIDE_PX))
                image.load()
                clean = _upright_rgb(image)
    except InvalidInput:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as error:
        raise InvalidInput("photo", _NOT_A_PHOTO) from error
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return ContentFile(out.getvalue(), name="proof.jpg")
