"""The QR symbol a slip carries: its modules, shared by the printer (drawing) and the scanner (its size)."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_Q


def qr_matrix(text: str) -> list[list[bool]]:
    """QR modules (no quiet zone) with error correction Q."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0, box_size=1)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()
