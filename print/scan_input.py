"""Scanned pages in, one at a time: multi-page PDF, multi-page TIFF, PNG, JPEG (EXIF-rotated).

Pages are yielded one by one (a 500-page PDF is never held in memory). A file or page that
cannot be read yields a Page with ``error`` set, and the batch goes on.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

DPI = 200
MAX_PIXELS = 50_000_000  # ~ an A3 page at 600 dpi; more is a decompression bomb or a mistake
IMAGE_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}


@dataclass
class Page:
    file: str
    number: int  # 1-based
    image: np.ndarray | None = None  # 8-bit grayscale
    error: str = ""


def _kind(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(8)
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"\x89PNG") or head[:3] == b"\xff\xd8\xff":
        return "image"
    return ""


def pages(path: Path, dpi: int = DPI) -> Iterator[Page]:
    """Every page of one file, as grayscale arrays (or errors)."""
    name = str(path)
    try:
        if path.stat().st_size == 0:
            yield Page(name, 1, error="the file is empty (0 bytes)")
            return
        kind = _kind(path)
    except OSError as exc:
        yield Page(name, 1, error=f"cannot read the file: {exc.strerror or exc}")
        return
    if kind == "pdf":
        yield from _pdf_pages(path, dpi)
    elif kind in ("tiff", "image"):
        yield from _image_pages(path)
    else:
        yield Page(name, 1, error="not a PDF, TIFF, PNG or JPEG file")


def _pdf_pages(path: Path, dpi: int) -> Iterator[Page]:
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        yield Page(str(path), 1, error=f"the PDF is damaged or incomplete ({exc})")
        return
    try:
        for index in range(len(document)):
            yield _pdf_page(document, index, path, dpi)
    finally:
        document.close()


def _pdf_page(document, index: int, path: Path, dpi: int) -> Page:
    try:
        page = document[index]
        width, height = page.get_size()
        scale = dpi / 72
        if width * height * scale * scale > MAX_PIXELS:
            return Page(str(path), index + 1, error="the page is far larger than a sheet of paper")
        bitmap = page.render(scale=scale, grayscale=True)
        image = np.array(bitmap.to_numpy()).reshape(bitmap.height, bitmap.width, -1)[:, :, 0].copy()
        page.close()
        return Page(str(path), index + 1, image)
    except pdfium.PdfiumError as exc:
        return Page(str(path), index + 1, error=f"this page of the PDF cannot be drawn ({exc})")


def _image_pages(path: Path) -> Iterator[Page]:
    name = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Corrupt EXIF data": the pixels may still be fine
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                if picture.width * picture.height > MAX_PIXELS:
                    yield Page(name, 1, error=f"the image is too large ({picture.width}x{picture.height} pixels)")
                    return
                if picture.format == "JPEG":
                    picture.draft("L", picture.size)  # decode the brightness only: a third faster for a colour photo
                for number, frame in enumerate(ImageSequence.Iterator(picture), 1):
                    if frame.width * frame.height > MAX_PIXELS:
                        yield Page(name, number, error="this page is too large")
                        continue
                    upright = ImageOps.exif_transpose(frame)
                    yield Page(name, number, np.asarray(upright.convert("L")).copy())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        yield Page(name, 1, error="the image is too large (decompression bomb guard)")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        yield Page(name, 1, error=f"the image is damaged or incomplete ({exc})")


def count_pages(path: Path) -> int:
    """Pages in a file, cheaply (for a progress bar); 1 for anything unreadable."""
    try:
        kind = _kind(path) if path.stat().st_size else ""
        if kind == "pdf":
            document = pdfium.PdfDocument(str(path))
            try:
                return len(document)
            finally:
                document.close()
        if kind in ("tiff", "image"):
            with Image.open(path) as picture:
                return getattr(picture, "n_frames", 1)
    except (OSError, pdfium.PdfiumError, UnidentifiedImageError, Image.DecompressionBombError):
        pass
    return 1


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, and the scan files inside given folders (sorted, not recursive)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files
