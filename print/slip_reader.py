"""From a decoded QR to the slip's boxes: align on the markers, warp, read each box.

Geometry comes from :mod:`print.layout` (millimetres from the top-left marker). The QR's
corners give a first mapping from layout to image; each alignment marker is then found
near where that mapping predicts it, and the four markers with the QR corners give the
final perspective mapping. Every box is judged against its own local paper (the white
around it) and ink (its own printed border), with explicit margins: clearly empty,
clearly filled, and unclear in between.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from print.layout import Box, SlipLayout
from print.qr_symbol import qr_modules

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
    size = qr_modules(qr_text) * m
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
FOLD_WIDTH_MM = 0.45  # a fold line's spread about its straight axis (95th percentile)
FOLD_BAND_MM = 2.5  # a crease with its shadow, across; anything wider on the line is more than a fold
FOLD_MAX_TILT_DEGREES = 10  # folds run along the paper, so along the slip, give or take
BRIDGE_MM = 1.6  # gaps the erased outline leaves in a line that crosses it
LINE_SHARE = 0.4  # a broken line (a faxed crease) has ink on this share of the margins on both sides
LINE_WIDTH_MM = 0.75  # and is no wider than this


WINDOW_MM = 2.0  # how far around a box we look to see where a stroke comes from
BORDER_MM = 0.35  # half-width of the printed outline (our ink, not the family's)
STROKE_MM = 1.5  # wider than a pen or pencil stroke, narrower than a stain's soft rim
BACKGROUND_MM = 7.0  # wider than a box: a filled box is ink, a stain or a shadow is paper
REGISTER_MM = 0.8  # how far a box's printed outline may lie from where the markers put it
REGISTER_MIN_SCORE = 0.5  # how clearly the outline must be found to move the box
NOISE_BIAS = 0.03  # typical paper darkness on office and phone pages (0.01-0.02); a washed-out noisy copy: 0.09
SPECK_PIXELS = 24  # smaller pieces of ink are noise, not strokes (a pen tick is hundreds)


@dataclass
class _Strokes:
    """The ink of one box's window, as darkness against the local paper (0 paper, 1 printed ink)."""

    darkness: np.ndarray  # window-sized, float32
    origin: tuple[int, int]  # window top-left in slip pixels (x, y)
    passing: np.ndarray  # bool mask of ink that runs through the window but is not a fold (a mug's rim)
    thin: np.ndarray  # darkness against the paper just beside it: what is left of ink in thin strokes


def paper_background(slip: np.ndarray) -> np.ndarray:
    """The paper without the strokes: a closing wider than any box, over the whole slip, so a
    stain or shadow larger than a box is paper even where it only clips a box's corner."""
    side = int(BACKGROUND_MM * PX_PER_MM) | 1
    return cv2.morphologyEx(slip, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (side, side)))


def read_box(slip: np.ndarray, box: Box, background: np.ndarray | None = None) -> BoxReading:
    """Judge one tick box against its own paper and its own printed border.

    Smooth shading (coffee stains, a phone's shadow, uneven light) is taken out by comparing
    every pixel with the local paper around it (a morphological closing wider than the box);
    the printed border is ignored; a straight line that crosses the whole window (a fold) is
    not a mark, and other ink that passes through (a mug's rim) makes the box unclear.
    """
    inset = 0.75
    box = _register(slip, box)
    paper, ink = _paper_level(slip, box, (1.0, 1.9)), _ink_level(slip, box)
    contrast = paper - ink
    if contrast < MIN_CONTRAST:
        return BoxReading(UNCLEAR, 0.0, 0.0, 0.0)
    strokes = _strokes(slip, paper_background(slip) if background is None else background, box, contrast)
    inner = _inside(strokes.darkness, strokes.origin, box, inset)
    passing = _inside(strokes.passing, strokes.origin, box, inset)
    if inner.size == 0:
        return BoxReading(UNCLEAR, 0.0, 0.0, 0.0)
    coverage, faint = float((inner > 0.5).mean()), _stroke_share(inner > 0.125)
    outside = _outside_share(strokes, box)
    state = classify(coverage, faint, outside)
    if state == FILLED and (float(passing.mean()) > EMPTY_FAINT or _straight_line_inside(inner > 0.125)):
        state = UNCLEAR  # a mark, or ink from outside that runs through (a mug's rim, a crease): a person should look
    if state == FILLED and coverage < PEN_BAND[0] and _stroke_share(_inside(strokes.thin, strokes.origin, box, inset)
                                                                    > 0.125) < PENCIL_MIN:
        state = UNCLEAR  # faint and wide, not a pencil line: the soft edge of a stain or a shadow
    return BoxReading(state, round(coverage, 3), round(faint, 3), round(outside, 3))


def _register(slip: np.ndarray, box: Box) -> Box:
    """The box where its printed outline really is, within REGISTER_MM of where the markers put it.

    A phone photo is not flat and four markers cannot say everything about it: half a
    millimetre off, one side of the outline lies inside the box and reads as a stroke. An
    outline that cannot be found clearly (a filled box hides it) leaves the box where it was.
    """
    pad, reach = int(round(2 * BORDER_MM * PX_PER_MM)), int(round(REGISTER_MM * PX_PER_MM))
    w, h = int(round(box.w * PX_PER_MM)), int(round(box.h * PX_PER_MM))
    template = np.zeros((h + 2 * pad, w + 2 * pad), np.uint8)
    cv2.rectangle(template, (pad, pad), (pad + w, pad + h), 255, max(1, int(2 * BORDER_MM * PX_PER_MM)))
    x0, y0 = _px(box.x) - pad - reach, _px(box.y) - pad - reach
    if x0 < 0 or y0 < 0:
        return box
    window = 255 - slip[y0:y0 + template.shape[0] + 2 * reach, x0:x0 + template.shape[1] + 2 * reach]
    if window.shape[0] < template.shape[0] + 2 * reach or window.shape[1] < template.shape[1] + 2 * reach:
        return box
    scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (dx, dy) = cv2.minMaxLoc(scores)
    if best < REGISTER_MIN_SCORE:
        return box
    return Box(box.x + (dx - reach) / PX_PER_MM, box.y + (dy - reach) / PX_PER_MM, box.w, box.h)


def _strokes(slip: np.ndarray, background: np.ndarray, box: Box, contrast: float) -> _Strokes:
    x0, y0 = max(_px(box.x - WINDOW_MM), 0), max(_px(box.y - WINDOW_MM), 0)
    x1, y1 = min(_px(box.x + box.w + WINDOW_MM), slip.shape[1]), min(_px(box.y + box.h + WINDOW_MM), slip.shape[0])
    window, paper = slip[y0:y1, x0:x1], background[y0:y1, x0:x1]
    darkness = (paper.astype(np.float32) - window.astype(np.float32)) / contrast
    # The closing sits on the peaks of the paper's noise, so on a very noisy page plain paper reads
    # as faint ink everywhere: take off what the window's typical pixel shows beyond NOISE_BIAS.
    darkness = np.clip(darkness - max(float(np.median(darkness)) - NOISE_BIAS, 0.0), 0, None)
    darkness[_outline(darkness.shape, box, (x0, y0))] = 0
    _erase_broken_lines(darkness, box, (x0, y0))
    passing = _drop_passing_ink(darkness)
    side = int(STROKE_MM * PX_PER_MM) | 1
    near = cv2.morphologyEx(window, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    thin = np.where(darkness > 0, (near.astype(np.float32) - window.astype(np.float32)) / contrast, 0)
    return _Strokes(darkness, (x0, y0), passing, thin)


def _outline(shape: tuple[int, ...], box: Box, origin: tuple[int, int]) -> np.ndarray:
    """The printed outline of the box (our own ink, not the family's), as a mask of the window."""
    x0, y0 = origin
    mask = np.zeros(shape, np.uint8)
    corner = (_px(box.x) - x0, _px(box.y) - y0)
    far = (_px(box.x + box.w) - x0, _px(box.y + box.h) - y0)
    cv2.rectangle(mask, corner, far, 1, max(1, int(2 * BORDER_MM * PX_PER_MM)))
    return mask.astype(bool)


def _erase_broken_lines(darkness: np.ndarray, box: Box, origin: tuple[int, int]) -> None:
    """Erase thin straight lines that continue on both sides of the box: a crease a fax broke
    into dashes, which no longer joins up into one piece of ink.

    A column (or row) of the window is on such a line when it has ink in at least LINE_SHARE
    of the margin above the box *and* of the margin below it (left and right for a row), and
    the columns that qualify together are no wider than a crease. A tick leaves the box on
    one side at most; a wide band on the line is left alone (it is judged as ink).
    """
    x0, y0 = origin
    ink = (darkness > 0.125).astype(np.uint8)
    near, far = _px(box.y - BORDER_MM) - y0, _px(box.y + box.h + BORDER_MM) - y0
    for column in _thin_lines(ink[:max(near, 0)], ink[far:]):
        darkness[:, max(column - 2, 0):column + 3] = 0
    near, far = _px(box.x - BORDER_MM) - x0, _px(box.x + box.w + BORDER_MM) - x0
    for row in _thin_lines(ink[:, :max(near, 0)].T, ink[:, far:].T):
        darkness[max(row - 2, 0):row + 3, :] = 0


def _straight_line_inside(ink: np.ndarray) -> bool:
    """A thin line along the slip's axes through both halves of the box: what is left of a crease
    that fades out before the box's edge (a pen or pencil tick is a slanted stroke)."""
    ink = ink.astype(np.uint8)
    h, w = ink.shape
    return bool(_thin_lines(ink[:h // 2], ink[h // 2:]) or _thin_lines(ink[:, :w // 2].T, ink[:, w // 2:].T))


def _thin_lines(before: np.ndarray, after: np.ndarray) -> list[int]:
    """Columns where both parts have ink on at least LINE_SHARE of their rows (within a pixel
    either side), in runs no wider than LINE_WIDTH_MM with next to no ink just beside them (a
    line on its own, not the crossing of a tick's strokes); the middle column of each run."""
    if before.shape[0] < 4 or after.shape[0] < 4:
        return []
    spread = np.ones((1, 3), np.uint8)
    near = cv2.dilate(before, spread).mean(axis=0), cv2.dilate(after, spread).mean(axis=0)
    share, anywhere = np.minimum(*near), np.maximum(*near)
    found, run = [], []
    for column, on in enumerate(list(share >= LINE_SHARE) + [False]):
        if on:
            run.append(column)
        elif run:
            beside = [c for c in (run[0] - 3, run[-1] + 3) if 0 <= c < len(share)]
            if len(run) <= LINE_WIDTH_MM * PX_PER_MM and all(anywhere[c] < LINE_SHARE / 3 for c in beside):
                found.append(run[len(run) // 2])
            run = []
    return found


def _drop_passing_ink(darkness: np.ndarray) -> np.ndarray:
    """Take out ink that runs through the window from one side to another. A straight thin line
    along the slip's axes is a fold and is erased from ``darkness``; anything else that runs
    through (a mug's rim, a stain's edge) is returned as a mask: a box it touches is unclear.

    The printed outline was erased, so a line crossing it is in pieces; pieces less than
    BRIDGE_MM apart are taken together; specks of noise are not (on a noisy page, bridged
    together, they would run through every window).
    """
    ink = _without_specks(darkness > 0.125)
    bridge = int(BRIDGE_MM * PX_PER_MM) | 1
    joined = cv2.dilate(ink.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (bridge, bridge)))
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    h, w = darkness.shape
    passing = np.zeros(darkness.shape, bool)
    for i in range(1, count):
        pieces = (labels == i) & ink
        ys, xs = np.nonzero(pieces)
        if len(xs) == 0 or sum((xs.min() == 0, ys.min() == 0, xs.max() == w - 1, ys.max() == h - 1)) < 2:
            continue  # made inside the box, or a tick that overshoots a little: judged as a mark
        if _is_fold(pieces, darkness):
            darkness[pieces] = 0
        else:
            passing |= pieces
    return passing


def _without_specks(mask: np.ndarray, min_pixels: int = SPECK_PIXELS) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_pixels
    return keep[labels]


def _is_fold(component: np.ndarray, darkness: np.ndarray) -> bool:
    """Straight, thin and along the slip's axes: a fold or crease (a hand-drawn stroke is never all three).

    Straightness is judged on the ridge (the darkest pixel of each row or column), so the soft
    shadow beside a crease does not make it look wide.
    """
    ys, xs = np.nonzero(component)
    if len(xs) < 2:
        return False
    vertical = np.ptp(ys) >= np.ptp(xs)
    weights = np.where(component, darkness, -1.0)
    lines = range(ys.min(), ys.max() + 1) if vertical else range(xs.min(), xs.max() + 1)
    ridge = [(int(np.argmax(weights[i])), i) if vertical else (i, int(np.argmax(weights[:, i]))) for i in lines
             if (weights[i] if vertical else weights[:, i]).max() > 0]
    if len(ridge) < 2:
        return False
    extents = [np.ptp(np.nonzero(component[i] if vertical else component[:, i])[0]) for i in lines
               if (component[i] if vertical else component[:, i]).any()]
    if float(np.percentile(extents, 80)) > FOLD_BAND_MM * PX_PER_MM:
        return False  # something wider than a crease and its shadow sits on the line: a mark, a filled box
    points = np.array(ridge, np.float32)
    vx, vy, cx, cy = cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    along_axis = min(abs(vx), abs(vy)) <= np.sin(np.radians(FOLD_MAX_TILT_DEGREES))
    spread = np.abs((points[:, 0] - cx) * vy - (points[:, 1] - cy) * vx)
    return bool(along_axis and float(np.percentile(spread, 95)) <= FOLD_WIDTH_MM * PX_PER_MM)


def _inside(window: np.ndarray, origin: tuple[int, int], box: Box, inset: float) -> np.ndarray:
    """The part of a box's window inside the box, ``inset`` mm in from its border."""
    x0, y0 = origin
    return window[_px(box.y + inset) - y0:_px(box.y + box.h - inset) - y0,
                  _px(box.x + inset) - x0:_px(box.x + box.w - inset) - x0]


def _outside_share(strokes: _Strokes, box: Box) -> float:
    """Share of ink in a thin frame just outside the box: a crossed-out box spills over."""
    near, far = 0.6, 1.6
    x0, y0 = strokes.origin

    def frame(margin: float) -> np.ndarray:
        return strokes.darkness[max(_px(box.y - margin) - y0, 0):_px(box.y + box.h + margin) - y0,
                                max(_px(box.x - margin) - x0, 0):_px(box.x + box.w + margin) - x0]

    outer, inner = frame(far), frame(near)
    dark = float((outer > 0.5).sum()) - float((inner > 0.5).sum())
    return max(dark, 0.0) / max(outer.size - inner.size, 1)


def _stroke_share(mask: np.ndarray, min_pixels: int = SPECK_PIXELS) -> float:
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
    if PEN_BAND[0] <= coverage <= PEN_BAND[1] and faint <= SOLID and not _dense_and_faint(coverage, faint):
        return FILLED
    if coverage < PEN_BAND[0] and PENCIL_MIN <= faint <= PEN_BAND[1]:
        return FILLED
    return UNCLEAR


def _dense_and_faint(coverage: float, faint: float) -> bool:
    """Most of the box in faint ink and little of it dark: a dense scribble, blurred (crossing a
    box out), not a tick, whose dark core is at least a quarter of its faint spread."""
    return faint > PEN_BAND[1] and coverage < faint / 4


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
    paper = paper_background(slip)
    marks = Marks()
    for row, replies in enumerate(reply_counts):
        marks.rows.append({"read": read_box(slip, layout.read_box(row), paper),
                           "replies": [read_box(slip, layout.reply_box(row, i), paper) for i in range(replies)]})
    marks.call_me = read_box(slip, layout.call_me, paper)
    return marks


def evidence_crop(slip: np.ndarray, px_per_mm: float = 2.5) -> bytes:
    """A small WebP of the slip for the ledger's evidence (a few KB). libwebp's fastest method:
    OpenCV's default takes 10 ms a slip for 20 % fewer bytes."""
    scale = px_per_mm / PX_PER_MM
    small = cv2.resize(slip, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = io.BytesIO()
    Image.fromarray(small).save(out, "WEBP", quality=45, method=0)
    return out.getvalue()


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
