"""Evidence images (slip crops, review page images), stored beside the database by content hash."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
from sqlite_utils import Database

from server.db import evidence_dir
from server.files import store_by_hash

_NAME = re.compile(r"^[0-9a-f]{32}\.(webp|jpg)$")


def page_fingerprint(image: np.ndarray) -> str:
    """The identity of a page's pixels: the same scan twice gives the same fingerprint."""
    return hashlib.sha256(image.tobytes()).hexdigest()[:32]


def store(db: Database, data: bytes, suffix: str) -> str:
    """Write once (temp file, then rename); returns the file name to put in events."""
    return store_by_hash(evidence_dir(db), data, suffix)


def store_page(db: Database, image: np.ndarray, longest: int = 1400) -> str:
    """A reduced JPEG of a whole page, for the review queue."""
    scale = min(1.0, longest / max(image.shape))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    if not ok:
        raise ValueError("could not encode the page image")
    return store(db, data.tobytes(), "jpg")


def is_evidence_name(name: str) -> bool:
    """True for names ``store`` makes (hash + suffix): nothing else in the folder is ours."""
    return bool(_NAME.match(name))


def path_for(db: Database, name: str) -> Path | None:
    """The file for an evidence name, or None for anything that is not one (no path tricks)."""
    if not is_evidence_name(name):
        return None
    path = evidence_dir(db) / name
    return path if path.exists() else None
