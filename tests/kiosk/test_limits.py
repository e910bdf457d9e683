"""The help desk slows down PIN guessing and family-code guessing."""

import pytest

from server import ratelimit
from tests.conftest import csrf_token


@pytest.fixture
def kiosk_client(kiosk_db, tmp_path):
    from kiosk.app import create_kiosk_app

    return create_kiosk_app(tmp_path / "kiosk.db").test_client()


def test_kiosk_pins_and_family_codes(kiosk_client, db, school):
    token = csrf_token(kiosk_client)
    for _ in range(ratelimit.PIN.attempts):
        kiosk_client.post("/login", data={"username": "vol", "pin": "0000", "csrf_token": token})
    blocked = kiosk_client.post("/login", data={"username": "vol", "pin": "2468", "csrf_token": token})
    assert blocked.status_code == 429
    kiosk_client.post("/login", data={"username": "vol", "pin": "2468", "csrf_token": token},
                      environ_base={"REMOTE_ADDR": "10.3.3.3"})
    real = db["families"].get(school["S1"])["code"]
    assert real in kiosk_client.get(f"/?q={real}").get_data(as_text=True)
    for wrong in range(ratelimit.FAMILY_CODE.attempts):
        kiosk_client.get(f"/?q={wrong:05d}")
    page = kiosk_client.get(f"/?q={real}").get_data(as_text=True)
    assert "家庭编号错误次数过多" in page and f"/family/{school['S1']}" not in page
