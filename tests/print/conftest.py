"""Helpers for looking at printed PDFs the way a scanner and a reader would."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
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


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    from server import demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    demo.build(path)
    return path
