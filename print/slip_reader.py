"""From a decoded QR to the slip's boxes: align on the markers, warp, read each box.

Geometry comes from :mod:`print.layout` (millimetres from the top-left marker). The QR's
corners give a first mapping from layout to image; each alignment marker is then found
near where that mapping predicts it, and the four markers with the QR corners give the
final perspective mapping. Every box is judged against its own local paper (the white
around it) and ink (its own printed border), with explicit margins: clearly empty,
clearly filled, and unclear in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from print.layout import Box, SlipLayout
from print.slip import qr_matrix

PX_PER_MM = 8  # the canonical (warped) slip image
MARGIN_MM = 5

EMPTY, FILLED, UNCLEAR = "empty", "filled", "unclear"


@dataclass
class Aligned:
    to_image: np.ndarray  # 3x3: layout mm -> page pixels
    slip: np.ndarray  # the warped slip, PX_PER_MM, with MARGIN_MM around the markers
    error_mm: float  # how well the QR corners agree with the marker fit


@dataclass
class BoxReading:
    state: str
    coverage: float  # share of the box interior that is ink
    darkness: float  # mean darkness of the interior, 0 paper .. 1 ink


@dataclass
class Marks:
    rows: list[dict] = field(default_factory=list)  # {"read": BoxReading, "replies": [BoxReading, ...]}
    call_me: BoxReading | None = None

    def states(self) -> dict:
        return {"rows": [{"read": r["read"].state, "replies": [b.state for b in r["replies"]]} for r in self.rows],
                "call_me": self.call_me.state if self.call_me else None}


def qr_layout_corners(layout: SlipLayout, qr_text: str) -> np.ndarray:
    """Where the QR symbol's corners are on the slip, in mm (TL, TR, BR, BL)."""
    m = layout.qr_module
    size = len(qr_matrix(qr_text)) * m
    x, y = layout.qr.x + 4 * m, layout.qr.y + 4 * m
    return np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], np.float32)


def _project(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float32), h).reshape(-1, 2)


def align(gray: np.ndarray, corners: np.ndarray, qr_text: str, layout: SlipLayout) -> Aligned | None:
    """Find the four markers, nearest first, each predicted from what is already found.

    The QR alone is too small to extrapolate a perspective across the slip, so the first
    guesses are similarity transforms; the final mapping is a homography over all points.
    """
    qr_mm = qr_layout_corners(layout, qr_text)
    markers_mm = np.array(layout.markers(), np.float32)
    known_mm, known_px = list(qr_mm), list(corners.astype(np.float32))
    found: dict[int, np.ndarray] = {}
    for index in (0, 1, 3, 2):  # top-left (beside the QR), top-right, bottom-left, bottom-right
        guess = _similarity(np.array(known_mm), np.array(known_px))
        spot = _find_marker(gray, guess, markers_mm[index], layout.marker)
        if spot is None:
            return None
        found[index] = spot
        known_mm.append(markers_mm[index])
        known_px.append(np.asarray(spot, np.float32))
    src = np.vstack([markers_mm, qr_mm])
    dst = np.vstack([np.array([found[i] for i in range(4)], np.float32), corners.astype(np.float32)])
    final, _ = cv2.findHomography(src, dst, 0)
    if final is None:
        return None
    back = cv2.perspectiveTransform(dst.reshape(-1, 1, 2), np.linalg.inv(final)).reshape(-1, 2)
    error = float(np.abs(back - src).max())
    return Aligned(final, _warp(gray, final, layout), error)


def _similarity(points_mm: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """A 3x3 rotation + scale + shift (+ perspective once four markers are known) from mm to pixels."""
    if len(points_mm) >= 7:
        h, _ = cv2.findHomography(points_mm, points_px, 0)
        if h is not None:
            return h
    matrix, _ = cv2.estimateAffinePartial2D(points_mm, points_px) if len(points_mm) < 6 else \
        cv2.estimateAffine2D(points_mm, points_px)
    return np.vstack([matrix, [0, 0, 1]])


def _find_marker(gray: np.ndarray, to_image: np.ndarray, centre_mm: np.ndarray, side_mm: float):
    """The centre (pixels) of a solid dark square near its predicted place, or None."""
    search_mm = 9.0
    corners = _project(to_image, np.array([centre_mm + (dx, dy) for dx in (-search_mm, search_mm)
                                           for dy in (-search_mm, search_mm)]))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    h, w = gray.shape
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    window = gray[y0:y1, x0:x1]
    _, ink = cv2.threshold(window, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    expected = _area_px(to_image, centre_mm, side_mm)
    predicted = _project(to_image, centre_mm[None])[0] - (x0, y0)
    best, best_distance = None, None
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        fill = area / float(bw * bh)
        if not (0.45 * expected < area < 1.8 * expected and fill > 0.75 and 0.6 < bw / bh < 1.6):
            continue
        distance = np.linalg.norm(centroids[i] - predicted)
        if best_distance is None or distance < best_distance:
            best, best_distance = centroids[i] + (x0, y0), distance
    return best


def _area_px(to_image: np.ndarray, centre_mm: np.ndarray, side_mm: float) -> float:
    half = side_mm / 2
    square = _project(to_image, np.array([centre_mm + (-half, -half), centre_mm + (half, -half),
                                          centre_mm + (half, half), centre_mm + (-half, half)]))
    return float(cv2.contourArea(square))


def _warp(gray: np.ndarray, to_image: np.ndarray, layout: SlipLayout) -> np.ndarray:
    s, m = PX_PER_MM, MARGIN_MM
    canonical_to_mm = np.array([[1 / s, 0, -m], [0, 1 / s, -m], [0, 0, 1]], np.float64)
    size = (int((layout.width + 2 * m) * s), int((layout.height + 2 * m) * s))
    return cv2.warpPerspective(gray, to_image @ canonical_to_mm, size, flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
                               borderValue=255)


def _px(value_mm: float) -> int:
    return int(round((value_mm + MARGIN_MM) * PX_PER_MM))


# Margins, tuned on bench/scan_corpus.py's corpus: a clearly empty box stays under the first
# pair, a mark is over the second, and everything between goes to a person.
EMPTY_DARKNESS, EMPTY_COVERAGE = 0.05, 0.02
MARK_COVERAGE = (0.07, 0.62)  # a tick, a cross, a pencil stroke
SOLID_COVERAGE = 0.88  # a filled square; between the two bands is a scribble: unclear
MIN_CONTRAST = 60  # paper minus ink, in grey levels; less is too faint to judge


def read_box(slip: np.ndarray, box: Box) -> BoxReading:
    inset, ring = 0.75, (1.0, 1.9)
    inner = slip[_px(box.y + inset):_px(box.y + box.h - inset), _px(box.x + inset):_px(box.x + box.w - inset)]
    paper = _paper_level(slip, box, ring)
    ink = _ink_level(slip, box)
    contrast = paper - ink
    if contrast < MIN_CONTRAST or inner.size == 0:
        return BoxReading(UNCLEAR, 0.0, 0.0)
    darkness = np.clip((paper - inner.astype(np.float32)) / contrast, 0, 1)
    coverage, mean = float((darkness > 0.5).mean()), float(darkness.mean())
    return BoxReading(_classify(coverage, mean), round(coverage, 3), round(mean, 3))


def _classify(coverage: float, darkness: float) -> str:
    if darkness < EMPTY_DARKNESS and coverage < EMPTY_COVERAGE:
        return EMPTY
    if coverage >= SOLID_COVERAGE or MARK_COVERAGE[0] <= coverage <= MARK_COVERAGE[1]:
        return FILLED
    return UNCLEAR


def _paper_level(slip: np.ndarray, box: Box, ring: tuple[float, float]) -> float:
    """The paper around the box: bright percentile of the bands above and below it."""
    near, far = ring
    bands = [slip[_px(box.y - far):_px(box.y - near), _px(box.x):_px(box.x + box.w)],
             slip[_px(box.y + box.h + near):_px(box.y + box.h + far), _px(box.x):_px(box.x + box.w)]]
    values = np.concatenate([b.ravel() for b in bands if b.size])
    return float(np.percentile(values, 75)) if values.size else 255.0


def _ink_level(slip: np.ndarray, box: Box) -> float:
    """The box's own printed border: the darkest pixels along its outline."""
    band = 0.45
    edges = [slip[_px(box.y - band):_px(box.y + band), _px(box.x):_px(box.x + box.w)],
             slip[_px(box.y + box.h - band):_px(box.y + box.h + band), _px(box.x):_px(box.x + box.w)],
             slip[_px(box.y):_px(box.y + box.h), _px(box.x - band):_px(box.x + band)],
             slip[_px(box.y):_px(box.y + box.h), _px(box.x + box.w - band):_px(box.x + box.w + band)]]
    per_edge = [float(np.percentile(e, 10)) for e in edges if e.size]
    return max(per_edge) if per_edge else 255.0


def read_marks(slip: np.ndarray, layout: SlipLayout, reply_counts: list[int]) -> Marks:
    """Read the read box and reply boxes of each row, and the call-me box."""
    marks = Marks()
    for row, replies in enumerate(reply_counts):
        marks.rows.append({"read": read_box(slip, layout.read_box(row)),
                           "replies": [read_box(slip, layout.reply_box(row, i)) for i in range(replies)]})
    marks.call_me = read_box(slip, layout.call_me)
    return marks


def evidence_crop(slip: np.ndarray, px_per_mm: float = 2.5) -> bytes:
    """A small WebP of the slip for the ledger's evidence (a few KB)."""
    scale = px_per_mm / PX_PER_MM
    small = cv2.resize(slip, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".webp", small, [cv2.IMWRITE_WEBP_QUALITY, 45])
    if not ok:
        raise ValueError("could not encode the slip crop")
    return data.tobytes()


def find_slip_outlines(gray: np.ndarray, layout: SlipLayout) -> int:
    """How many slips' worth of markers are on the page (for 'slip present, QR unreadable')."""
    small_scale = 800 / max(gray.shape)
    small = cv2.resize(gray, None, fx=small_scale, fy=small_scale, interpolation=cv2.INTER_AREA) if small_scale < 1 else gray
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    longest = max(small.shape)
    squares = [centroids[i] for i in range(1, count)
               if stats[i][4] / float(stats[i][2] * stats[i][3]) > 0.8 and 0.7 < stats[i][2] / stats[i][3] < 1.4
               and 0.011 * longest < max(stats[i][2], stats[i][3]) < 0.045 * longest]
    return _rectangles(np.array(squares), layout.width / layout.height)


def _rectangles(points: np.ndarray, ratio: float) -> int:
    """Count disjoint 4-point sets forming a rectangle of the slip's proportions."""
    if len(points) < 4 or len(points) > 60:
        return 0
    found, used = 0, set()
    for i in range(len(points)):
        for j in range(len(points)):
            if i == j or i in used or j in used:
                continue
            side = points[j] - points[i]
            length = np.linalg.norm(side)
            if length < 20:
                continue
            normal = np.array([-side[1], side[0]]) / ratio
            k = _near(points, points[j] + normal, length * 0.06, used | {i, j})
            m = _near(points, points[i] + normal, length * 0.06, used | {i, j})
            if k is not None and m is not None and k != m:
                used |= {i, j, k, m}
                found += 1
    return found


def _near(points: np.ndarray, target: np.ndarray, tolerance: float, exclude: set) -> int | None:
    distances = np.linalg.norm(points - target, axis=1)
    for index in np.argsort(distances):
        if distances[index] > tolerance:
            return None
        if index not in exclude:
            return int(index)
    return None
