"""The demo school is one an office could rehearse a week in: phone families can be called."""

from ivr import chase
from ivr.followup import usable_numbers
from server import notices


def test_some_demo_families_consented_to_calls_so_call_now_works(school_copy):
    db = school_copy
    families = list(db.query("SELECT * FROM families WHERE active = 1"))
    callable_ = [f for f in families if usable_numbers(db, f, "voice")]
    phone_families = [f for f in families if f["preferred_channel"] == "voice"]
    assert phone_families and all(usable_numbers(db, f, "voice") for f in phone_families)
    assert len(phone_families) < len(callable_) < len(families)  # not everyone: consent is a real choice
    notice = notices.list_notices(db, published_only=True)[0]
    result = chase.chase(db, notice, [callable_[0]["id"]], "call", actor="office")
    assert result.done == [callable_[0]["code"]] and not result.skipped
    assert db.execute("SELECT consent_note FROM phone_prefs LIMIT 1").fetchone()[0].startswith("演示")
