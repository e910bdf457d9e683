"""A scan corpus with ground truth: real printed bulletins, marked by hand-like strokes,
then degraded like an office feeder, a fax, a phone photo, or worse.

Used by bench/scan_bench.py and by the tests (small sizes there).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import pypdfium2 as pdfium

from print.layout import Box, SlipLayout
from print.render import slip_origin_mm

MM_PER_INCH = 25.4
STYLES = ("tick", "cross", "fill", "pencil")
# Pencil grades (grey level of the line, width in mm): 2H is light and thin, 2B dark and soft.
PENCILS = {"pencil_2h": ((185, 200), 0.2), "pencil": ((150, 185), 0.25), "pencil_2b": ((105, 135), 0.35)}
EVERY_STYLE = STYLES + ("pencil_2h", "pencil_2b", "tick_border")


@dataclass
class Truth:
    """What is really on a slip: filled / empty (or unclear for a scribble) for every box."""

    family_code: str | None
    serial: int | None
    rows: list[dict] = field(default_factory=list)  # {"read": state, "replies": [state, ...]}
    call_me: str = "empty"

    def states(self) -> dict:
        return {"rows": self.rows, "call_me": self.call_me}


def flat_states(states: dict) -> list[str]:
    """A slip's box states in one list: each row's read box and replies, then "please call me"."""
    boxes = []
    for row in states["rows"]:
        boxes += [row["read"]] + list(row["replies"])
    return boxes + [states["call_me"]]


@dataclass
class Sample:
    image: np.ndarray
    truth: Truth | None  # None: a page without a slip
    profile: str


def rasterise(pdf_path, dpi: int) -> Iterator[np.ndarray]:
    document = pdfium.PdfDocument(str(pdf_path))
    try:
        for page in document:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            yield np.array(bitmap.to_numpy()).reshape(bitmap.height, bitmap.width, -1)[:, :, 0].copy()
    finally:
        document.close()


class Marker:
    """Draws pen and pencil marks into slip boxes on a page image."""

    def __init__(self, image: np.ndarray, dpi: int, origin_mm: tuple[float, float], rng: random.Random):
        self.image, self.scale, self.origin, self.rng = image, dpi / MM_PER_INCH, origin_mm, rng

    def px(self, x_mm: float, y_mm: float) -> tuple[int, int]:
        return (int(round((self.origin[0] + x_mm) * self.scale)), int(round((self.origin[1] + y_mm) * self.scale)))

    def mark(self, box: Box, style: str) -> None:
        r = self.rng
        grey, pencil_mm = PENCILS.get(style, ((0, 60), 0.0))
        ink = r.randint(*grey)
        width = max(1, int((pencil_mm or r.uniform(0.35, 0.6)) * self.scale))
        jitter = lambda: r.uniform(-0.4, 0.4)  # noqa: E731
        x, y, w, h = box.x, box.y, box.w, box.h
        if style == "tick_border":  # a hurried tick that starts on the border and ends well past it
            points = [(x - 0.3 + jitter(), y + 0.5 * h + jitter()), (x + 0.4 * w + jitter(), y + h + 0.2),
                      (x + w + 1.5 + jitter(), y - 1.2 + jitter())]
            cv2.polylines(self.image, [np.array([self.px(*p) for p in points])], False, ink, width, cv2.LINE_AA)
        elif style in ("tick", "pencil", "pencil_2h", "pencil_2b"):
            points = [(x + 0.15 * w + jitter(), y + 0.55 * h + jitter()), (x + 0.42 * w + jitter(), y + 0.88 * h),
                      (x + 0.95 * w + jitter(), y - 0.1 * h + jitter())]
            cv2.polylines(self.image, [np.array([self.px(*p) for p in points])], False, ink, width, cv2.LINE_AA)
        elif style == "cross":
            for a, b in (((x + 0.12 * w, y + 0.12 * h), (x + 0.88 * w, y + 0.9 * h)),
                         ((x + 0.9 * w, y + 0.1 * h), (x + 0.1 * w, y + 0.88 * h))):
                cv2.line(self.image, self.px(a[0] + jitter(), a[1] + jitter()),
                         self.px(b[0] + jitter(), b[1] + jitter()), ink, width, cv2.LINE_AA)
        elif style == "fill":
            cv2.rectangle(self.image, self.px(x + 0.3, y + 0.3), self.px(x + w - 0.3, y + h - 0.3), ink, -1)
        elif style == "scribble":  # crossing a box out: dense zigzags that overshoot its edges
            over = r.uniform(0.8, 1.6)
            for _ in range(14):
                cv2.line(self.image, self.px(x - over + r.uniform(0, w + 2 * over), y - over + r.uniform(0, h + 2 * over)),
                         self.px(x - over + r.uniform(0, w + 2 * over), y - over + r.uniform(0, h + 2 * over)),
                         ink, width * 2, cv2.LINE_AA)


def mark_slip(image: np.ndarray, dpi: int, layout: SlipLayout, notices: list[dict], rng: random.Random,
              scribbles: float = 0.0, styles: tuple[str, ...] = STYLES) -> Truth:
    """Tick a random, realistic set of boxes; return what was ticked."""
    marker = Marker(image, dpi, slip_origin_mm("a4", layout), rng)
    truth = Truth(None, None)

    def maybe(box: Box, chance: float) -> str:
        if rng.random() < scribbles:
            marker.mark(box, "scribble")
            return "unclear"
        if rng.random() < chance:
            marker.mark(box, rng.choice(styles))
            return "filled"
        return "empty"

    for row, notice in enumerate(notices):
        read = maybe(layout.read_box(row), 0.7)
        replies = ["empty"] * min(len(notice["reply_options"]), len(layout.reply_x))
        if replies and rng.random() < 0.65:
            choice = rng.randrange(len(replies))
            replies[choice] = maybe(layout.reply_box(row, choice), 1.0)
        truth.rows.append({"read": read, "replies": replies})
    truth.call_me = maybe(layout.call_me, 0.1)
    return truth


# ---- degradation profiles ------------------------------------------------------------------------

def _rotate(image: np.ndarray, degrees: float, background: int = 255) -> np.ndarray:
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(image, matrix, (nw, nh), borderValue=background)


def _noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(image.astype(np.float32) + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def office(image: np.ndarray, r: random.Random, n: np.random.Generator) -> np.ndarray:
    """Sheet feeder at 200 dpi: a little skew, some pages upside down, sensor noise, JPEG."""
    image = _rotate(image, r.uniform(-1.5, 1.5) + (180 if r.random() < 0.15 else 0))
    return _jpeg(_noise(image, 5, n), 75)


def fax(image: np.ndarray, r: random.Random, n: np.random.Generator) -> np.ndarray:
    """Fax-like: 150 dpi, binarised, speckles."""
    image = cv2.resize(image, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    image = _rotate(image, r.uniform(-1, 1))
    _, image = cv2.threshold(_noise(image, 8, n), 160, 255, cv2.THRESH_BINARY)
    speckle = n.random(image.shape) < 0.002
    image[speckle] = 255 - image[speckle]
    return image


def phone(image: np.ndarray, r: random.Random, n: np.random.Generator) -> np.ndarray:
    """A phone photo on a table: perspective, uneven light, blur, JPEG."""
    h, w = image.shape
    pad = int(0.08 * w)
    table = np.full((h + 2 * pad, w + 2 * pad), r.randint(70, 120), np.uint8)
    table[pad:pad + h, pad:pad + w] = image
    th, tw = table.shape
    shift = lambda: r.uniform(-0.05, 0.05) * tw  # noqa: E731
    src = np.float32([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]])
    dst = np.float32([[pad + shift(), pad + shift()], [pad + w + shift(), pad + shift()],
                      [pad + w + shift(), pad + h + shift()], [pad + shift(), pad + h + shift()]])
    image = cv2.warpPerspective(table, cv2.getPerspectiveTransform(src, dst), (tw, th), borderValue=90)
    image = _rotate(image, r.choice([0, 90, 180, 270]) + r.uniform(-4, 4), background=90)
    light = np.linspace(r.uniform(0.6, 0.8), 1.0, image.shape[1], dtype=np.float32)[None, :]
    image = (image.astype(np.float32) * light).astype(np.uint8)
    image = cv2.GaussianBlur(image, (0, 0), r.uniform(0.6, 1.1))
    return _jpeg(_noise(image, 4, n), 72)


def hostile(image: np.ndarray, r: random.Random, n: np.random.Generator) -> np.ndarray:
    """Everything at once and harder: any rotation, low contrast, heavy noise, strong JPEG."""
    image = (image.astype(np.float32) * 0.55 + 90).astype(np.uint8)
    image = _rotate(image, r.choice([0, 90, 180, 270]) + r.uniform(-3, 3))
    image = cv2.GaussianBlur(image, (0, 0), r.uniform(0.5, 1.2))
    return _jpeg(_noise(image, 10, n), 55)


PROFILES = {"office": office, "fax": fax, "phone": phone, "hostile": hostile}


def samples(pdf_path, slips: dict[int, dict], layout: SlipLayout, profile: str, seed: int = 1,
            scribbles: float = 0.0, dpi: int = 200) -> Iterator[Sample]:
    """Marked and degraded pages of a printed batch. ``slips``: page index -> slip record (with notices)."""
    r, n = random.Random(seed), np.random.default_rng(seed)
    for index, page in enumerate(rasterise(pdf_path, dpi)):
        truth = None
        record = slips.get(index)
        if record is not None:
            # A fax loses faint pencil entirely (no scanner can see it): fax slips are marked in pen.
            styles = tuple(s for s in STYLES if s != "pencil") if profile == "fax" else STYLES
            truth = mark_slip(page, dpi, layout, record["notices"], r, scribbles, styles)
            truth.family_code, truth.serial = record["family_code"], record["id"]
        yield Sample(PROFILES[profile](page, r, n), truth, profile)


def slips_by_page(db, pdf_path) -> dict[int, dict]:
    """Which printed slip is on which page, read from the serial printed on the slip."""
    import re
    import subprocess

    from print.bulletin import slip_record

    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")
    pages = {}
    for index, page_text in enumerate(text):
        found = re.search(r"v1 · #(\d+)", page_text)
        if found:
            record = slip_record(db, int(found.group(1)))
            record["family_code"] = db["families"].get(record["family_id"])["code"]
            pages[index] = record
    return pages


# ---- what happens to paper on the way home and back ------------------------------------------------

def _mm(image: np.ndarray, dpi: int) -> float:
    return dpi / MM_PER_INCH  # pixels per mm


def crease(image: np.ndarray, dpi: int, x_mm: float, r: random.Random) -> None:
    """A fold, opened again: a thin dark line down the page with a soft shadow beside it."""
    scale = _mm(image, dpi)
    h, w = image.shape
    x0 = x_mm * scale + r.uniform(-2, 2) * scale
    tilt = np.tan(np.radians(r.uniform(-0.8, 0.8)))
    xs = x0 + (np.arange(h) - h / 2) * tilt  # the crease's x on each row
    cols = np.arange(w)[None, :].astype(np.float32)
    distance = cols - xs[:, None].astype(np.float32)
    line_width = r.uniform(0.12, 0.3) * scale
    depth = r.uniform(45, 110)  # how dark the crease's own line is
    side, reach = r.choice([-1, 1]), r.uniform(1.5, 4) * scale
    away = distance * side
    shadow = np.where(away >= 0, r.uniform(12, 30) * np.exp(-np.clip(away, 0, None) / reach), 0)
    line = depth * np.exp(-(distance / max(line_width, 0.6)) ** 2)
    image[:] = np.clip(image.astype(np.float32) - line - shadow, 0, 255).astype(np.uint8)


def coffee_ring(image: np.ndarray, dpi: int, centre_mm: tuple[float, float], r: random.Random) -> None:
    """A mug's ring: a darker rim, a paler stain inside, soft edges."""
    scale = _mm(image, dpi)
    stain = np.zeros(image.shape, np.float32)
    centre = (int(centre_mm[0] * scale), int(centre_mm[1] * scale))
    axes = int(r.uniform(30, 45) * scale), int(r.uniform(28, 42) * scale)
    cv2.ellipse(stain, centre, axes, r.uniform(0, 180), 0, 360, r.uniform(5, 18), -1)
    cv2.ellipse(stain, centre, axes, r.uniform(0, 180), 0, 360, r.uniform(25, 55), max(2, int(r.uniform(0.8, 2.2) * scale)))
    stain = cv2.GaussianBlur(stain, (0, 0), 0.5 * scale)
    image[:] = np.clip(image.astype(np.float32) - stain, 0, 255).astype(np.uint8)


def hand_shadow(image: np.ndarray, dpi: int, centre_mm: tuple[float, float], r: random.Random) -> None:
    """The shadow of a phone held above the page: large, soft, no edges."""
    scale = _mm(image, dpi)
    shade = np.zeros(image.shape, np.float32)
    cv2.ellipse(shade, (int(centre_mm[0] * scale), int(centre_mm[1] * scale)),
                (int(r.uniform(40, 80) * scale), int(r.uniform(30, 60) * scale)), r.uniform(0, 180), 0, 360,
                r.uniform(35, 80), -1)
    shade = cv2.GaussianBlur(shade, (0, 0), r.uniform(8, 15) * scale)
    image[:] = np.clip(image.astype(np.float32) - shade, 0, 255).astype(np.uint8)


def fold_and_stain(image: np.ndarray, dpi: int, layout: SlipLayout, artifact: str, r: random.Random) -> None:
    """One of the things a bulletin meets at home, placed over its slip."""
    origin = slip_origin_mm("a4", layout)
    columns = [layout.read_x] + list(layout.reply_x) + [layout.call_me.x]
    inside = (origin[0] + r.uniform(20, layout.width - 20), origin[1] + r.uniform(30, layout.height - 10))
    if artifact == "fold_centre":  # an A4 folded in half: 102-107 mm from the left edge
        crease(image, dpi, r.uniform(102, 107), r)
    elif artifact == "fold_column":  # folded to fit a pocket: through any column of boxes
        column = r.choice(columns)
        crease(image, dpi, origin[0] + column + r.uniform(0.5, layout.tick - 0.5), r)
    elif artifact == "coffee":
        coffee_ring(image, dpi, inside, r)
    elif artifact == "shadow":
        hand_shadow(image, dpi, inside, r)
    elif artifact != "none":
        raise ValueError(f"unknown artifact {artifact!r}")


ARTIFACTS = ("none", "fold_centre", "fold_column", "coffee", "shadow")
