"""Finding QR codes on a page: a cascade of decoders, fastest and most robust first.

Each result carries the symbol's four corners in its own orientation (top-left,
top-right, bottom-right, bottom-left), which is what tells the scanner which way up the
slip is. Decodes a library marks invalid are never used.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp
from pyzbar import pyzbar


@dataclass(frozen=True)
class Found:
    text: str
    corners: np.ndarray  # float32 (4, 2): TL, TR, BR, BL of the symbol
    decoder: str


def _zxing(gray: np.ndarray) -> list[Found]:
    found = []
    for code in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)):
        if not code.valid or code.error:
            continue
        p = code.position
        corners = np.array([[p.top_left.x, p.top_left.y], [p.top_right.x, p.top_right.y],
                            [p.bottom_right.x, p.bottom_right.y], [p.bottom_left.x, p.bottom_left.y]], np.float32)
        found.append(Found(code.text, corners, "zxing-cpp"))
    return found


def _opencv(gray: np.ndarray) -> list[Found]:
    detector = cv2.QRCodeDetector()
    ok, texts, points, _ = detector.detectAndDecodeMulti(gray)
    if not ok or points is None:
        return []
    return [Found(t, np.asarray(pts, np.float32).reshape(4, 2), "opencv") for t, pts in zip(texts, points, strict=False) if t]


_TURNS = {"UP": 0, "RIGHT": 1, "DOWN": 2, "LEFT": 3}


def _pyzbar(gray: np.ndarray) -> list[Found]:
    found = []
    for code in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        if len(code.polygon) != 4 or getattr(code, "orientation", None) not in _TURNS:
            continue  # without its orientation we cannot tell which way up the slip is
        points = np.array([(p.x, p.y) for p in code.polygon], np.float32)
        upright = _image_order(points)
        corners = np.roll(upright, -_TURNS[code.orientation], axis=0)
        found.append(Found(code.data.decode("ascii", "replace"), corners, "pyzbar"))
    return found


def _image_order(points: np.ndarray) -> np.ndarray:
    """Corners as seen in the image: TL, TR, BR, BL."""
    s, d = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.array([points[s.argmin()], points[d.argmin()], points[s.argmax()], points[d.argmax()]], np.float32)


DECODERS = {"zxing-cpp": _zxing, "opencv": _opencv, "pyzbar": _pyzbar}
CASCADE = ("zxing-cpp", "pyzbar")


def find_codes(gray: np.ndarray, cascade: tuple[str, ...] = CASCADE) -> list[Found]:
    """All QR codes on the page, from the first decoder in the cascade that finds any.

    A second zxing-cpp pass on a lightly smoothed copy rescues noisy fax-like pages.
    """
    for name in cascade:
        found = DECODERS[name](gray)
        if found:
            return _unique(found)
    if "zxing-cpp" in cascade:
        return _unique(_zxing(cv2.medianBlur(gray, 3)))
    return []


def _unique(found: list[Found]) -> list[Found]:
    """One entry per physical symbol (some decoders report a symbol twice)."""
    kept: list[Found] = []
    for item in found:
        centre = item.corners.mean(axis=0)
        if all(np.linalg.norm(centre - k.corners.mean(axis=0)) > 20 or k.text != item.text for k in kept):
            kept.append(item)
    return kept
