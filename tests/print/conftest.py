"""Helpers for looking at printed PDFs the way a scanner and a reader would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode


def page_texts(pdf: Path) -> list[str]:
    """pdftotext, one string per page."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def page_images(pdf: Path, folder: Path, dpi: int = 200) -> list[Path]:
    """Rasterise every page with poppler, like an office scanner at ``dpi``."""
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


def qr_codes(image: Path) -> list:
    with Image.open(image) as picture:
        return decode(picture, symbols=[ZBarSymbol.QRCODE])


def save_tiff(images, path):
    """Pages as one multi-page TIFF, as an office scanner writes them."""
    frames = [Image.fromarray(image) for image in images]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    return path
