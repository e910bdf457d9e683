"""The QR symbol a slip carries: its modules, shared by the printer (drawing) and the scanner (its size)."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_Q


def _symbol(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0, box_size=1)
    code.add_data(text)
    return code


def qr_matrix(text: str) -> list[list[bool]]:
    """QR modules (no quiet zone) with error correction Q."""
    code = _symbol(text)
    code.make(fit=True)
    return code.get_matrix()


def qr_modules(text: str) -> int:
    """Modules along one side of the symbol ``qr_matrix`` draws, without drawing it (the
    scanner needs only the size: choosing a mask, as drawing does, costs ~1 ms a try)."""
    return 17 + 4 * _symbol(text).best_fit()
