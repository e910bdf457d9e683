import pytest
from hypothesis import given
from hypothesis import strategies as st

from server import tokens
from server.errors import BadCode, BadSignature

SECRET = bytes(range(32))
SLIP = tokens.SlipId(school="DEMO", week="2026-W48", family_code=tokens.family_code(10017), serial=3)


def test_family_code_round_trip():
    code = tokens.family_code(10017)
    assert len(code) == 6 and tokens.check_family_code(code) == code
    assert tokens.check_family_code(" 100 17" + code[-1] + " ") == code
    assert tokens.check_family_code("１００１７" + code[-1]) == code  # full-width digits from a Chinese IME


@given(st.integers(min_value=10000, max_value=9_999_999))
def test_every_single_digit_typo_is_caught(number):
    code = tokens.family_code(number)
    for i, digit in enumerate(code):
        for other in "0123456789":
            if other != digit:
                with pytest.raises(BadCode):
                    tokens.check_family_code(code[:i] + other + code[i + 1:])


@given(st.integers(min_value=10000, max_value=9_999_999))
def test_every_adjacent_swap_is_caught(number):
    code = tokens.family_code(number)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            with pytest.raises(BadCode):
                tokens.check_family_code(code[:i] + code[i + 1] + code[i] + code[i + 2:])


@pytest.mark.parametrize("typed", ["", "1", "abc", "1234567890123"])
def test_nonsense_codes_are_refused(typed):
    with pytest.raises(BadCode):
        tokens.check_family_code(typed)


def test_slip_round_trip_is_short_and_qr_alphanumeric():
    text = tokens.sign_slip(SLIP, SECRET)
    assert len(text) <= 40
    assert set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert tokens.verify_slip(text, {"A": SECRET}, "DEMO") == SLIP


def test_altered_payloads_are_rejected():
    text = tokens.sign_slip(SLIP, SECRET)
    for i, ch in enumerate(text):
        for other in {"0", "7", "A", "Z", "."} - {ch}:
            altered = text[:i] + other + text[i + 1:]
            with pytest.raises(BadSignature):
                tokens.verify_slip(altered, {"A": SECRET}, "DEMO")


def test_forged_and_foreign_payloads_are_rejected():
    forged = tokens.sign_slip(SLIP, b"someone else's secret")
    with pytest.raises(BadSignature, match="does not verify"):
        tokens.verify_slip(forged, {"A": SECRET}, "DEMO")
    other_school = tokens.sign_slip(tokens.SlipId("OTHER", "2026-W48", SLIP.family_code, 1), SECRET)
    with pytest.raises(BadSignature, match="another school"):
        tokens.verify_slip(other_school, {"A": SECRET}, "DEMO")
    with pytest.raises(BadSignature, match="unknown key"):
        tokens.verify_slip(tokens.sign_slip(SLIP, SECRET), {"B": SECRET}, "DEMO")
    for junk in ["", "hello", "https://example.com", "PB1A.DEMO.2648.100175.3." + "A" * 13 + "X"]:
        with pytest.raises(BadSignature):
            tokens.verify_slip(junk, {"A": SECRET}, "DEMO")


def test_a_signed_slip_with_a_bad_check_digit_is_still_rejected():
    assert tokens.damm_digit("100170") != "0"
    bad = tokens.SlipId("DEMO", "2026-W48", "100170", 1)
    with pytest.raises(BadSignature, match="check digit"):
        tokens.verify_slip(tokens.sign_slip(bad, SECRET), {"A": SECRET}, "DEMO")


def test_rotated_key_still_verifies_old_slips():
    old = tokens.sign_slip(SLIP, SECRET)
    new = tokens.sign_slip(tokens.SlipId(**{**SLIP.__dict__, "key_id": "B"}), b"new secret")
    keys = {"A": SECRET, "B": b"new secret"}
    assert tokens.verify_slip(old, keys, "DEMO").key_id == "A"
    assert tokens.verify_slip(new, keys, "DEMO").key_id == "B"


def test_phone_pins_are_random_stable_and_renewable(db, school):
    from server import pins

    first = pins.pin_for(db, school["S1"])
    assert len(first) == 6 and first.isdigit() and pins.pin_for(db, school["S1"]) == first
    assert pins.matches(db, school["S1"], first) and not pins.matches(db, school["S1"], "１２３４５６")
    others = {pins.pin_for(db, school[s]) for s in ("S2", "S3")}
    codes = {db["families"].get(school[s])["code"] for s in ("S1", "S2", "S3")}
    assert not codes & ({first} | others)  # nothing to do with the printed code
    renewed = pins.renew(db, school["S1"])
    assert pins.matches(db, school["S1"], renewed) and (renewed == first or not pins.matches(db, school["S1"], first))
