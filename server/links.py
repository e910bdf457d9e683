"""Each family's personal link: signed, and revocable by bumping the family's link version."""

from __future__ import annotations

from itsdangerous import BadSignature as _BadSig
from itsdangerous import URLSafeSerializer
from sqlite_utils import Database

from server import settings
from server.errors import BadSignature

_SALT = "family-link-v1"


def _serializer(db: Database) -> URLSafeSerializer:
    """Signs with the newest school key; links made under any still-trusted key verify."""
    keys = settings.slip_keys(db)
    return URLSafeSerializer([keys[k] for k in sorted(keys)], salt=_SALT)


def make_token(db: Database, family_id: int) -> str:
    row = db.execute("SELECT link_version FROM families WHERE id = ?", [family_id]).fetchone()
    if row is None:
        raise ValueError(f"family {family_id} does not exist")
    return _serializer(db).dumps([family_id, row[0]])


def family_for_token(db: Database, token: str) -> int:
    """The family a link belongs to; BadSignature when forged, revoked or of an inactive family."""
    try:
        family_id, version = _serializer(db).loads(token)
    except (_BadSig, ValueError, TypeError):
        raise BadSignature("this link is not valid") from None
    row = db.execute("SELECT link_version, active FROM families WHERE id = ?", [family_id]).fetchone()
    if row is None or row[0] != version or not row[1]:
        raise BadSignature("this link has been replaced or withdrawn")
    return family_id


def revoke(db: Database, family_id: int) -> None:
    """Withdraw the family's current link; the next make_token gives a new one."""
    db.execute("UPDATE families SET link_version = link_version + 1 WHERE id = ?", [family_id])


def url(db: Database, family_id: int) -> str:
    return settings.get(db, "base_url").rstrip("/") + "/f/" + make_token(db, family_id)
