"""The return slip's geometry, defined once as data for the printer and the scanner.

Every position is in millimetres relative to the centre of the top-left alignment
marker, x to the right and y downwards. The version is printed inside the QR payload,
so a slip printed with an older layout is read with the layout it was printed with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class SlipLayout:
    version: int
    width: float  # between marker centres
    height: float
    marker: float  # side of the solid square markers
    qr: Box  # the QR including its 4-module quiet zone
    qr_module: float
    code_at: tuple[float, float]  # family code, large digits (baseline)
    names_at: tuple[float, float]
    rows_top: float
    row_pitch: float
    max_rows: int
    title_width: float
    read_x: float
    reply_x: tuple[float, ...]  # one column per reply option, at most len(reply_x)
    tick: float  # side of a tick box
    call_me: Box
    signature_x: tuple[float, float]
    date_x: tuple[float, float]
    footer_y: float

    def row_y(self, row: int) -> float:
        if not 0 <= row < self.max_rows:
            raise ValueError(f"a slip has rows 0..{self.max_rows - 1}")
        return self.rows_top + row * self.row_pitch

    def read_box(self, row: int) -> Box:
        return Box(self.read_x, self.row_y(row), self.tick, self.tick)

    def reply_box(self, row: int, option: int) -> Box:
        return Box(self.reply_x[option], self.row_y(row), self.tick, self.tick)

    def markers(self) -> list[tuple[float, float]]:
        """Marker centres: top-left, top-right, bottom-right, bottom-left."""
        return [(0, 0), (self.width, 0), (self.width, self.height), (0, self.height)]


LAYOUTS = {
    1: SlipLayout(
        version=1, width=178.0, height=104.0, marker=5.0,
        qr=Box(3.5, 3.5, 31.45, 31.45), qr_module=0.85,
        code_at=(40.0, 12.0), names_at=(40.0, 20.0),
        rows_top=44.0, row_pitch=8.0, max_rows=6, title_width=80.0,
        read_x=86.0, reply_x=(104.0, 129.0, 154.0), tick=5.5,
        call_me=Box(3.0, 94.0, 5.5, 5.5), signature_x=(62.0, 118.0), date_x=(130.0, 172.0), footer_y=99.0,
    ),
}
CURRENT = LAYOUTS[1]
