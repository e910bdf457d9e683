"""From a decoded QR to the slip's boxes: align on the markers, warp, read each box.

Geometry comes from :mod:`print.layout` (millimetres from the top-left marker). The QR's
corners give a first mapping from layout to image; each alignment marker is then found
near where that mapping predicts it, and the four markers with the QR corners give the
final perspective mapping. Every box is judged against its own local paper (the white
around it) and ink (its own printed border), with explicit margins: clearly empty,
clearly filled, and unclear in between.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

from print.layout import Box, SlipLayout
from print.qr_symbol import qr_matrix

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
    coverage: float  # share of the interior at least half as dark as the printed border (pen)
    faint: float  # share at least an eighth as dark, in strokes (pencil)
    outside: float = 0.0  # share of ink in a frame just outside the box


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
    """Find the four markers and map the slip; None when they cannot be found with confidence.

    The QR alone is too small to extrapolate a perspective across the slip, so markers are
    searched generously around a similarity guess, and the set of candidates that best
    agrees with the QR's own corners wins (a ticked box of marker size cannot fool it).
    """
    qr_mm = qr_layout_corners(layout, qr_text)
    qr_px = corners.astype(np.float32)
    markers_mm = np.array(layout.markers(), np.float32)
    near = _similarity(qr_mm, qr_px)
    top_left = _candidates(gray, near, markers_mm[0], layout.marker, radius_mm=8)[:1]
    if not top_left:
        return None
    guess = _similarity(np.vstack([qr_mm, markers_mm[:1]]), np.vstack([qr_px, top_left]))
    options = [top_left] + [_candidates(gray, guess, markers_mm[i], layout.marker, radius_mm=18)[:3] for i in (1, 2, 3)]
    if not all(options):
        return None
    best = min(itertools.product(*options), key=lambda combo: _qr_error(combo, markers_mm, qr_mm, qr_px))
    src = np.vstack([markers_mm, qr_mm])
    dst = np.vstack([np.array(best, np.float32), qr_px])
    final, _ = cv2.findHomography(src, dst, 0)
    if final is None:
        return None
    back = cv2.perspectiveTransform(dst.reshape(-1, 1, 2), np.linalg.inv(final)).reshape(-1, 2)
    error = float(np.abs(back - src).max())
    return Aligned(final, _warp(gray, final, layout), error)


def _qr_error(combo, markers_mm: np.ndarray, qr_mm: np.ndarray, qr_px: np.ndarray) -> float:
    """How far (in mm) the QR corners land from where four candidate markers put them."""
    h = cv2.getPerspectiveTransform(np.array(combo, np.float32), markers_mm)
    return float(np.abs(_project(h, qr_px) - qr_mm).max())


def _similarity(points_mm: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """Rotation + uniform scale + shift from mm to pixels, as a 3x3 matrix."""
    matrix, _ = cv2.estimateAffinePartial2D(points_mm.astype(np.float32), points_px.astype(np.float32))
    return np.vstack([matrix, [0, 0, 1]])


def _candidates(gray: np.ndarray, to_image: np.ndarray, centre_mm: np.ndarray, side_mm: float,
                radius_mm: float) -> list[np.ndarray]:
    """Centres (pixels) of solid dark squares of about marker size near a predicted place, nearest first."""
    corners = _project(to_image, np.array([centre_mm + (dx, dy) for dx in (-radius_mm, radius_mm)
                                           for dy in (-radius_mm, radius_mm)]))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    h, w = gray.shape
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    window = gray[y0:y1, x0:x1]
    _, ink = cv2.threshold(window, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    expected = _area_px(to_image, centre_mm, side_mm)
    predicted = _project(to_image, centre_mm[None])[0] - (x0, y0)
    found = []
    for i in range(1, count):
        _, _, bw, bh, area = stats[i]
        if 0.4 * expected < area < 2.0 * expected and area / float(bw * bh) > 0.6 and 0.5 < bw / bh < 2.0:
            found.append((float(np.linalg.norm(centroids[i] - predicted)), centroids[i] + (x0, y0)))
    return [centre.astype(np.float32) for _, centre in sorted(found, key=lambda f: f[0])]


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


# Margins, tuned on bench/scan_corpus.py's corpus. A clearly empty box has almost no
# pixel even faintly darker than its paper; a mark covers a band typical of pen or pencil
# strokes; a solid square is nearly all ink. Everything between goes to a person.
EMPTY_FAINT = 0.012
PEN_BAND = (0.06, 0.58)  # share of pen ink in a tick or a cross
PENCIL_MIN = 0.03  # share of faint strokes: a thin pencil tick
SOLID = 0.88  # a filled square; between the mark band and this is a scribble: unclear
SPILL = 0.04  # ink in the frame around a box: it was scribbled out (ticks stay under 0.01)
MIN_CONTRAST = 60  # paper minus ink, in grey levels; less is too faint to judge


def read_box(slip: np.ndarray, box: Box) -> BoxReading:
    inset, ring = 0.75, (1.0, 1.9)
    inner = slip[_px(box.y + inset):_px(box.y + box.h - inset), _px(box.x + inset):_px(box.x + box.w - inset)]
    paper = _paper_level(slip, box, ring)
    ink = _ink_level(slip, box)
    contrast = paper - ink
    if contrast < MIN_CONTRAST or inner.size == 0:
        return BoxReading(UNCLEAR, 0.0, 0.0, 0.0)
    darkness = (paper - inner.astype(np.float32)) / contrast
    coverage, faint = float((darkness > 0.5).mean()), _stroke_share(darkness > 0.125)
    outside = _outside_share(slip, box, paper, contrast)
    return BoxReading(classify(coverage, faint, outside), round(coverage, 3), round(faint, 3), round(outside, 3))


def _outside_share(slip: np.ndarray, box: Box, paper: float, contrast: float) -> float:
    """Share of ink in a thin frame just outside the box: a crossed-out box spills over."""
    near, far = 0.6, 1.6
    outer = slip[_px(box.y - far):_px(box.y + box.h + far), _px(box.x - far):_px(box.x + box.w + far)]
    inner = slip[_px(box.y - near):_px(box.y + box.h + near), _px(box.x - near):_px(box.x + box.w + near)]
    dark_outer = float(((paper - outer.astype(np.float32)) / contrast > 0.5).sum())
    dark_inner = float(((paper - inner.astype(np.float32)) / contrast > 0.5).sum())
    return max(dark_outer - dark_inner, 0.0) / max(outer.size - inner.size, 1)


def _stroke_share(mask: np.ndarray, min_pixels: int = 24) -> float:
    """Share of the interior in connected strokes (a pencil line), not in specks of noise."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    strokes = sum(int(stats[i][4]) for i in range(1, count) if stats[i][4] >= min_pixels)
    return strokes / mask.size


def classify(coverage: float, faint: float, outside: float = 0.0) -> str:
    """Empty, filled or unclear, with margins between the bands."""
    if faint < EMPTY_FAINT:
        return EMPTY
    if outside >= SPILL:
        return UNCLEAR  # ink spilling all round the box: crossed out, not ticked
    if coverage >= SOLID:
        return FILLED
    if PEN_BAND[0] <= coverage <= PEN_BAND[1] and faint <= SOLID:
        return FILLED
    if coverage < PEN_BAND[0] and PENCIL_MIN <= faint <= PEN_BAND[1]:
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
    slip = cv2.medianBlur(slip, 3)  # sensor noise and JPEG speckle, not strokes
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
    found, used = 0, set[int]()
    for i in range(len(points)):
        for j in range(len(points)):
            if i == j or i in used or j in used:
                continue
            side = points[j] - points[i]
            length = float(np.linalg.norm(side))
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
