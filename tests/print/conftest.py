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


@pytest.fixture
def school_copy(demo_db, tmp_path):
    """A private copy of the demo school (scans write to the ledger)."""
    import shutil

    from server import db as database

    path = tmp_path / "school.db"
    shutil.copy(demo_db, path)
    connection = database.connect(path)
    yield connection
    connection.close()


@pytest.fixture
def printed_4a(school_copy, tmp_path):
    """Class 4A's bulletins for this week, as printed."""
    from print.bulletin import print_bulletins
    from server import clock, settings

    week = clock.iso_week(clock.now(), settings.zone(school_copy))
    return print_bulletins(school_copy, week, out=tmp_path / "4A.pdf", classes=["4A"]).out


def save_tiff(images, path):
    """Pages as one multi-page TIFF, as an office scanner writes them."""
    frames = [Image.fromarray(image) for image in images]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    return path
