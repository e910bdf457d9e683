"""Consent to automated calls, per number, with who gave it and how (the owner of the number)."""

from __future__ import annotations

from sqlite_utils import Database

from server import clock


def set_consent(db: Database, phone: str, consent: bool, note: str) -> None:
    """Consent to automated calls, given by the owner of this number (say who and how in the note)."""
    if consent and not note.strip():
        raise ValueError("say who gave consent and how (e.g. 'grandmother, by phone, 2026-11-20')")
    db.execute("INSERT INTO phone_prefs (phone, consent_calls, consent_note, updated_at) VALUES (?, ?, ?, ?)"
               " ON CONFLICT (phone) DO UPDATE SET consent_calls = excluded.consent_calls,"
               " consent_note = excluded.consent_note, updated_at = excluded.updated_at",
               [phone, int(consent), note.strip(), clock.now_iso()])
