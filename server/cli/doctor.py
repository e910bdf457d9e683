"""`paperbridge doctor`: checks an installation the way a careful IT person would, and says what to fix.

Each check gives ok, warn or fail with one sentence of what it found and one of what to do.
It reads the database, the files beside it and the environment the server runs with (run it
as the account and with the environment that runs `paperbridge serve`).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
from sqlite_utils import Database

from server import clock, private, settings, users
from server.cli.base import Context, emit, format_option, with_db

SECRET_MAX_AGE = dt.timedelta(days=365)
BACKUP_MAX_AGE = dt.timedelta(days=7)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class Finding:
    check: str
    state: str  # ok | warn | fail
    found: str
    fix: str = ""


def file_modes(path: Path) -> list[Finding]:
    """Looked at before the database is opened (opening it makes the files owner-only)."""
    if not path.exists():
        return [Finding("database files", "fail", f"{path} does not exist", "check --db or $PAPERBRIDGE_DB")]
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    shared = [p for p in files if private.readable_by_others(p)]
    evidence = path.parent / (path.stem + "-evidence")
    findings = [Finding("database files", "fail", f"{', '.join(p.name for p in shared)} could be read by other "
                        "accounts on this computer (the school secret is inside); now owner-only",
                        "find out who could read it; rotate the secret (`paperbridge secret rotate`) if in doubt")
                if shared else Finding("database files", "ok", f"{path} and its journal are the owner's alone")]
    if evidence.exists() and private.readable_by_others(evidence):
        mode = oct(stat.S_IMODE(evidence.stat().st_mode))[2:]
        findings.append(Finding("evidence folder", "warn", f"{evidence} (slip images) was open to others "
                                f"(mode {mode}); now owner-only", ""))
    return findings


def secret_age(db: Database, _env: Mapping[str, str]) -> list[Finding]:
    made = settings.secret_made(db)
    key = settings.current_key_id(db)
    if made is None:
        return [Finding("school secret", "warn", f"key {key} was made before PaperBridge recorded when",
                        "run `paperbridge secret rotate` once (old slips and links keep working)")]
    age = clock.now() - made
    if age > SECRET_MAX_AGE:
        return [Finding("school secret", "warn", f"key {key} is {age.days} days old",
                        "run `paperbridge secret rotate` (old slips and links keep working)")]
    return [Finding("school secret", "ok", f"key {key}, made {age.days} days ago")]


def backup_age(db: Database, _env: Mapping[str, str]) -> list[Finding]:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [settings.LAST_BACKUP]).fetchone()
    how = "e.g. `paperbridge backup /mnt/usb/paperbridge-$(date +%F).db` every night (cron or Task Scheduler)"
    if row is None:
        return [Finding("backups", "warn", "no backup has been made of this database", how)]
    when, _, where = row[0].partition(" ")
    age = clock.now() - clock.parse(when)
    if age > BACKUP_MAX_AGE:
        return [Finding("backups", "warn", f"the newest backup is {age.days} days old ({where})", how)]
    if where and not Path(where).exists():
        return [Finding("backups", "warn", f"the newest backup, {where}, is not there any more "
                        "(an unplugged disk?)", how)]
    return [Finding("backups", "ok", f"newest {age.days * 24 + age.seconds // 3600} hours ago, {where}")]


def proxy(db: Database, env: Mapping[str, str]) -> list[Finding]:
    base = urlsplit(settings.get(db, "base_url"))
    hops = env.get("PAPERBRIDGE_PROXY_HOPS", "")
    if hops and not hops.isdigit():
        return [Finding("reverse proxy", "fail", f"PAPERBRIDGE_PROXY_HOPS={hops!r} is not a number",
                        "set it to the number of proxies in front (usually 1), or unset it")]
    if base.scheme == "https" and not int(hops or 0):
        return [Finding("reverse proxy", "warn", f"base_url is {base.scheme}://{base.netloc} but "
                        "PAPERBRIDGE_PROXY_HOPS is not set: behind nginx every client has the proxy's address "
                        "(one wrong-password streak locks everyone out) and sign-in cookies are not Secure",
                        "start the server with PAPERBRIDGE_PROXY_HOPS=1 (and PAPERBRIDGE_TRUSTED_PROXY if the "
                        "proxy is on another machine); see docs/operations.md, Behind nginx")]
    if base.scheme == "http" and (base.hostname or "") not in LOCAL_HOSTS:
        return [Finding("reverse proxy", "warn", f"families' links and staff passwords travel unencrypted "
                        f"(base_url is {base.geturl()})", "put HTTPS in front (nginx, Caddy, IIS) and set base_url "
                        "to its https:// address")]
    trusted = env.get("PAPERBRIDGE_TRUSTED_PROXY") or "127.0.0.1"
    detail = f"{int(hops or 0)} proxy hop(s), trusted from {trusted}" if int(hops or 0) else "no proxy (local use)"
    return [Finding("reverse proxy", "ok", detail)]


def twilio(db: Database, env: Mapping[str, str]) -> list[Finding]:
    sid, token = env.get("TWILIO_ACCOUNT_SID", ""), env.get("TWILIO_AUTH_TOKEN", "")
    if bool(sid) != bool(token):
        given, missing = ("TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID") if token else ("TWILIO_ACCOUNT_SID",
                                                                                 "TWILIO_AUTH_TOKEN")
        return [Finding("phone line", "fail", f"{given} is set without {missing}: the line runs in dry-run mode and "
                        "every call and text from Twilio is refused (403)", f"set {missing} as well, or neither")]
    findings = []
    if env.get("PAPERBRIDGE_IVR_INSECURE") == "1":
        findings.append(Finding("phone line", "fail", "PAPERBRIDGE_IVR_INSECURE=1: anyone can post fake calls and "
                                "texts (signatures are not checked)", "unset PAPERBRIDGE_IVR_INSECURE"))
    if not sid:
        return findings or [Finding("phone line", "ok", "dry run (no Twilio account set): nothing is really sent")]
    public = urlsplit(env.get("PAPERBRIDGE_PUBLIC_URL") or settings.get(db, "base_url"))
    if public.scheme != "https" or (public.hostname or "") in LOCAL_HOSTS:
        findings.append(Finding("phone line", "fail", f"Twilio cannot reach {public.geturl()}",
                                "set PAPERBRIDGE_PUBLIC_URL (or base_url) to the server's public https:// address"))
    if not (env.get("TWILIO_NUMBER") or settings.get(db, "phone_line")):
        findings.append(Finding("phone line", "fail", "no number to call or text from",
                                "set TWILIO_NUMBER, or `paperbridge setting set phone_line +852...`"))
    return findings or [Finding("phone line", "ok", f"live with Twilio account {sid[:6]}…, webhooks at "
                                f"{public.geturl()}")]


def volunteer_pins(db: Database, _env: Mapping[str, str]) -> list[Finding]:
    """Volunteer PIN hashes travel to every kiosk: ones made before PINs were 6+ digits with a
    costly hash can be guessed offline from a kiosk's database."""
    weak = [r[0] for r in db.execute("SELECT username FROM users WHERE role = 'volunteer' AND active = 1 "
                                     "AND password_hash NOT LIKE ?", [users.PIN_METHOD + "$%"]).fetchall()]
    if weak:
        return [Finding("volunteer PINs", "warn", f"{', '.join(weak)}: a short or cheaply hashed PIN, and every kiosk "
                        "holds its hash", "give each a new PIN of 6+ digits: `paperbridge user reset-password NAME`")]
    return [Finding("volunteer PINs", "ok", "6+ digits, hashed for offline guessing")]


CHECKS: tuple[Callable[[Database, Mapping[str, str]], list[Finding]], ...] = (
    secret_age, backup_age, proxy, twilio, volunteer_pins)


def examine(db: Database, env: Mapping[str, str]) -> list[Finding]:
    return [finding for check in CHECKS for finding in check(db, env)]


@click.command()
@format_option
@with_db
def doctor(ctx: Context, fmt: str) -> None:
    """Check this installation: file modes, proxy settings, secret and backup age, Twilio settings.

    Prints what it found and what to fix; exits 1 when something must be fixed (fail), 0
    otherwise (warnings included). Run it as the account that runs the server, with its
    environment.

    \b
    Example:
      paperbridge doctor
      PAPERBRIDGE_PROXY_HOPS=1 paperbridge doctor --format json
    """
    findings = file_modes(ctx.path)
    if ctx.path.exists():
        findings += examine(ctx.db(), os.environ)
    emit([asdict(f) for f in findings], ["check", "state", "found", "fix"], fmt)
    if any(f.state == "fail" for f in findings):
        raise SystemExit(1)
