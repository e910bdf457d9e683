"""The scanner's symbol size must be the printer's, for any slip text."""

import pytest

from print.qr_symbol import qr_matrix, qr_modules


@pytest.mark.parametrize("alphabet", ["0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 $%*+-./:", "pb1.abc_XYZ-~?&="])
def test_the_size_without_drawing_is_the_drawn_size(alphabet):
    for length in (1, 7, 25, 26, 47, 48, 77, 78, 120, 180, 260):
        text = (alphabet * 30)[:length]
        assert qr_modules(text) == len(qr_matrix(text)), (alphabet, length)
