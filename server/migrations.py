"""The server's schema, as named and ordered migrations (each in a transaction).

Add a new migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from server.ledger import rebuild_status

migrations = Migrations("paperbridge")


def run_sql(db: Database, script: str) -> None:
    """Run several statements one by one, inside the caller's transaction.

    (``executescript`` would commit the migration's transaction half way.)
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement!r}")


@migrations(name="0001_core")
def core(db: Database) -> None:
    run_sql(db, """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE classes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE families (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    source_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    language TEXT NOT NULL,
    preferred_channel TEXT NOT NULL,
    has_smartphone INTEGER NOT NULL DEFAULT 0,
    link_version INTEGER NOT NULL DEFAULT 1,
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);

CREATE TABLE students (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    class_id TEXT NOT NULL REFERENCES classes(id),
    family_id INTEGER NOT NULL REFERENCES families(id),
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX students_family ON students(family_id);
CREATE INDEX students_class ON students(class_id);

CREATE TABLE guardians (
    id INTEGER PRIMARY KEY,
    family_id INTEGER NOT NULL REFERENCES families(id),
    match_key TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    phone_valid INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL,
    has_smartphone INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    UNIQUE (family_id, match_key)
);
CREATE INDEX guardians_phone ON guardians(phone);

CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    primary_language TEXT NOT NULL,
    whole_school INTEGER NOT NULL DEFAULT 0,
    requires_confirmation INTEGER NOT NULL DEFAULT 1,
    reply_options TEXT NOT NULL DEFAULT '[]',
    due_date TEXT,
    private INTEGER NOT NULL DEFAULT 0,
    publish_at TEXT NOT NULL,
    week TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX notices_week ON notices(week);

CREATE TABLE notice_texts (
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (notice_id, language)
);

CREATE TABLE notice_classes (
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    PRIMARY KEY (notice_id, class_id)
);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    family_id INTEGER NOT NULL REFERENCES families(id),
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL DEFAULT '',
    dedupe_key TEXT NOT NULL UNIQUE,
    voids TEXT REFERENCES events(id)
);
CREATE INDEX events_notice_family ON events(notice_id, family_id);
CREATE INDEX events_family ON events(family_id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the read ledger is append-only: record a void event instead'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the read ledger is append-only: record a void event instead'); END;

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'office', 'teacher', 'volunteer')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE user_classes (
    user_id INTEGER NOT NULL REFERENCES users(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    PRIMARY KEY (user_id, class_id)
);

CREATE TABLE integrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
""")


@migrations(name="0002_slips")
def slips(db: Database) -> None:
    """Every printed return slip: its serial is in the QR, its notices are its rows."""
    run_sql(db, """
CREATE TABLE slips (
    id INTEGER PRIMARY KEY,
    family_id INTEGER NOT NULL REFERENCES families(id),
    week TEXT NOT NULL,
    layout INTEGER NOT NULL,
    notice_ids TEXT NOT NULL,
    batch TEXT NOT NULL,
    printed_at TEXT NOT NULL
);
CREATE INDEX slips_week_family ON slips(week, family_id);
""")


@migrations(name="0003_scanning")
def scanning(db: Database) -> None:
    """Scan batches, per-page outcomes, the review queue, and follow-ups for the teacher."""
    run_sql(db, """
CREATE TABLE scan_batches (
    id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    slips INTEGER NOT NULL DEFAULT 0,
    recorded INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    review INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE scan_pages (
    id INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES scan_batches(id),
    file TEXT NOT NULL,
    page INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    family_id INTEGER REFERENCES families(id),
    slip_serial INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    marks TEXT NOT NULL DEFAULT '{}',
    evidence TEXT
);
CREATE INDEX scan_pages_batch ON scan_pages(batch_id);
CREATE INDEX scan_pages_family ON scan_pages(family_id);

CREATE TABLE review_items (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL REFERENCES scan_batches(id),
    file TEXT NOT NULL,
    page INTEGER NOT NULL,
    reason TEXT NOT NULL,
    qr_text TEXT,
    slip_serial INTEGER,
    family_id INTEGER REFERENCES families(id),
    marks TEXT NOT NULL DEFAULT '{}',
    page_image TEXT,
    crop_image TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'discarded')),
    resolved_by TEXT,
    resolved_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX review_items_status ON review_items(status);

CREATE TABLE followups (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    family_id INTEGER NOT NULL REFERENCES families(id),
    notice_id INTEGER REFERENCES notices(id),
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX followups_family ON followups(family_id);
""")


@migrations(name="0004_phone")
def phone(db: Database) -> None:
    """Calls, per-number consent and opt-outs, contact attempts, wrong-code counts, the dry-run outbox."""
    run_sql(db, """
CREATE TABLE calls (
    sid TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    from_number TEXT NOT NULL DEFAULT '',
    to_number TEXT NOT NULL DEFAULT '',
    family_id INTEGER REFERENCES families(id),
    language TEXT,
    auth TEXT NOT NULL DEFAULT 'none' CHECK (auth IN ('none', 'callerid', 'code', 'dialled')),
    code_tries INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'in-progress',
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE phone_prefs (
    phone TEXT PRIMARY KEY,
    consent_calls INTEGER NOT NULL DEFAULT 0,
    consent_note TEXT NOT NULL DEFAULT '',
    do_not_call INTEGER NOT NULL DEFAULT 0,
    sms_opt_out INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

CREATE TABLE contact_attempts (
    id INTEGER PRIMARY KEY,
    family_id INTEGER NOT NULL REFERENCES families(id),
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    phone TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('voice', 'sms')),
    round TEXT NOT NULL,
    sid TEXT,
    outcome TEXT NOT NULL DEFAULT 'sent',
    at TEXT NOT NULL
);
CREATE INDEX contact_attempts_family_notice ON contact_attempts(family_id, notice_id);
CREATE INDEX contact_attempts_sid ON contact_attempts(sid);

CREATE TABLE code_failures (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    family_code TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX code_failures_phone ON code_failures(phone, at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL
);
""")


@migrations(name="0005_kiosk_sync")
def kiosk_sync(db: Database) -> None:
    """Kiosk devices, one-time enrolment codes, and a change feed the kiosks pull from."""
    run_sql(db, """
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at TEXT NOT NULL,
    last_seen TEXT,
    revoked_at TEXT
);

CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL
);
""")
    for table, key in (("families", "id"), ("students", "id"), ("notices", "id"), ("notice_texts", "notice_id"),
                       ("notice_classes", "notice_id"), ("users", "id")):
        entity = {"notice_texts": "notices", "notice_classes": "notices"}.get(table, table)
        for event in ("INSERT", "UPDATE"):
            db.execute(f"CREATE TRIGGER change_{table}_{event.lower()} AFTER {event} ON {table} BEGIN "
                       f"INSERT INTO change_log (entity, entity_id) VALUES ('{entity}', NEW.{key}); END")
    db.execute("INSERT INTO change_log (entity, entity_id) SELECT 'families', id FROM families")
    db.execute("INSERT INTO change_log (entity, entity_id) SELECT 'students', id FROM students")
    db.execute("INSERT INTO change_log (entity, entity_id) SELECT 'notices', id FROM notices")
    db.execute("INSERT INTO change_log (entity, entity_id) SELECT 'users', id FROM users")


@migrations(name="0006_ledger_indexes")
def ledger_indexes(db: Database) -> None:
    """Voids are looked up by the event they cancel when statuses are derived in SQL."""
    db.execute("CREATE INDEX IF NOT EXISTS events_voids ON events(voids) WHERE voids IS NOT NULL")


@migrations(name="0007_covering_status_index")
def covering_status_index(db: Database) -> None:
    """A covering index for deriving a notice's statuses without touching the table rows."""
    db.execute("CREATE INDEX IF NOT EXISTS events_status ON events(notice_id, family_id, kind, channel, occurred_at, id)")
    db.execute("DROP INDEX IF EXISTS events_notice_family")  # a prefix of the new index


@migrations(name="0008_urgent_notices")
def urgent_notices(db: Database) -> None:
    """Urgent notices are chased sooner (setting urgent_delay_hours)."""
    db.execute("ALTER TABLE notices ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0")


@migrations(name="0009_receipt_status")
def receipt_status(db: Database) -> None:
    """Each (notice, family)'s derived status, kept by the ledger on every write (never edited by hand)."""
    run_sql(db, """
CREATE TABLE receipt_status (
    notice_id INTEGER NOT NULL,
    family_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    first_at TEXT,
    confirmed_at TEXT,
    channels TEXT NOT NULL DEFAULT '',
    reply TEXT,
    reply_at TEXT,
    delivered TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (notice_id, family_id)
) WITHOUT ROWID;
""")
    rebuild_status(db)


@migrations(name="0010_followups_done_by")
def followups_done_by(db: Database) -> None:
    """Who closed a "please call me" request, and how."""
    run_sql(db, """
ALTER TABLE followups ADD COLUMN done_by TEXT;
ALTER TABLE followups ADD COLUMN done_note TEXT;
CREATE INDEX followups_open ON followups(done_at, created_at);
""")


@migrations(name="0011_family_pins")
def family_pins(db: Database) -> None:
    """Each family's secret phone PIN (random, not derived from the family code)."""
    run_sql(db, """
CREATE TABLE family_pins (
    family_id INTEGER PRIMARY KEY REFERENCES families(id),
    pin TEXT NOT NULL,
    created_at TEXT NOT NULL
);
""")


@migrations(name="0012_code_failure_kind")
def code_failure_kind(db: Database) -> None:
    """Wrong family codes and wrong PINs are counted apart (PINs also per family code)."""
    run_sql(db, """
ALTER TABLE code_failures ADD COLUMN kind TEXT NOT NULL DEFAULT 'code';
CREATE INDEX code_failures_family ON code_failures(family_code, kind, at);
""")


@migrations(name="0013_calls_pin_auth")
def calls_pin_auth(db: Database) -> None:
    """A call can now be identified by the family's PIN ('pin'); 'code' alone no longer opens anything."""
    run_sql(db, """
CREATE TABLE calls_new (
    sid TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    from_number TEXT NOT NULL DEFAULT '',
    to_number TEXT NOT NULL DEFAULT '',
    family_id INTEGER REFERENCES families(id),
    language TEXT,
    auth TEXT NOT NULL DEFAULT 'none' CHECK (auth IN ('none', 'callerid', 'code', 'dialled', 'pin')),
    code_tries INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'in-progress',
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO calls_new SELECT sid, direction, from_number, to_number, family_id, language, auth, code_tries, status,
    started_at, updated_at FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
""")


@migrations(name="0014_staff_lifecycle")
def staff_lifecycle(db: Database) -> None:
    """A session version per account (sign-out, a new password, a disabled account or a new role
    end every session signed in before), and scan batches a killed run left unfinished."""
    run_sql(db, """
ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE scan_batches ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scan_batches ADD COLUMN pid INTEGER;
""")


@migrations(name="0015_notice_versions")
def notice_versions(db: Database) -> None:
    """A published notice is never changed: a correction or a withdrawal is a new notice that
    ``replaces`` it, with its ``version_kind`` and the ``reason`` staff gave."""
    run_sql(db, """
ALTER TABLE notices ADD COLUMN replaces INTEGER REFERENCES notices(id);
ALTER TABLE notices ADD COLUMN version_kind TEXT NOT NULL DEFAULT 'original'
    CHECK (version_kind IN ('original', 'correction', 'withdrawal'));
ALTER TABLE notices ADD COLUMN reason TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX notices_replaces ON notices(replaces) WHERE replaces IS NOT NULL;
""")


@migrations(name="0016_contact_attempt_detail")
def contact_attempt_detail(db: Database) -> None:
    """The carrier's error code for a text that did not arrive, and attempts that were only a dry
    run (nothing sent: they do not count against the attempt limit)."""
    run_sql(db, """
ALTER TABLE contact_attempts ADD COLUMN error_code TEXT;
ALTER TABLE contact_attempts ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
""")


@migrations(name="0017_sms_menus")
def sms_menus(db: Database) -> None:
    """The numbered list of notices last texted to a phone that answered "收到" (or "参加") while
    several notices were open: the reply's number picks one, and ``intent`` says what to do with it."""
    run_sql(db, """
CREATE TABLE sms_menus (
    phone TEXT PRIMARY KEY,
    family_id INTEGER NOT NULL REFERENCES families(id),
    notice_ids TEXT NOT NULL,
    intent TEXT NOT NULL,
    created_at TEXT NOT NULL
);
""")



@migrations(name="0018_notice_recordings")
def notice_recordings(db: Database) -> None:
    """A notice read by a teacher or the office in their own voice, per spoken language (cmn,
    yue, en): the files are <db>-audio/<sha>.ogg (pages, kiosks) and <sha>.mp3 (the phone line)."""
    run_sql(db, """
CREATE TABLE notice_recordings (
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    voice TEXT NOT NULL CHECK (voice IN ('cmn', 'yue', 'en')),
    sha TEXT NOT NULL,
    seconds REAL NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (notice_id, voice)
);
""")


@migrations(name="0019_guardian_names_to_kiosks")
def guardian_names_to_kiosks(db: Database) -> None:
    """Kiosks search by guardians' names too: a guardian's change re-sends the family (names only,
    never phones), and every family is sent once more so kiosks learn the names."""
    for event in ("INSERT", "UPDATE"):
        db.execute(f"CREATE TRIGGER change_guardians_{event.lower()} AFTER {event} ON guardians BEGIN "
                   "INSERT INTO change_log (entity, entity_id) VALUES ('families', NEW.family_id); END")
    db.execute("INSERT INTO change_log (entity, entity_id) SELECT 'families', id FROM families")


@migrations(name="0020_concerns")
def concerns(db: Database) -> None:
    """One register for a family's questions, objections and call-back requests from every channel
    (the call-back list before it becomes its first entries; answers given as a 'called back' note)."""
    run_sql(db, """
CREATE TABLE concerns (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    family_id INTEGER NOT NULL REFERENCES families(id),
    notice_id INTEGER REFERENCES notices(id),
    channel TEXT NOT NULL CHECK (channel IN ('phone', 'text', 'link', 'kiosk', 'paper')),
    kind TEXT NOT NULL CHECK (kind IN ('call_back', 'message')),
    words TEXT,
    recording_url TEXT,
    recording TEXT,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    received_at TEXT NOT NULL,
    assigned_to TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    answer TEXT,
    answered_by TEXT,
    answered_at TEXT,
    told_at TEXT,
    told_via TEXT,
    escalated_at TEXT,
    closed_by TEXT,
    closed_at TEXT
);
CREATE INDEX concerns_family ON concerns(family_id);
CREATE INDEX concerns_status ON concerns(status, received_at);
INSERT INTO concerns (id, dedupe_key, family_id, notice_id, channel, kind, words, source, actor, received_at,
                      status, answer, answered_by, answered_at, told_at, told_via, closed_by, closed_at)
SELECT id, dedupe_key, family_id, notice_id,
       CASE WHEN source LIKE 'call:%' THEN 'phone' WHEN source LIKE 'sms:%' THEN 'text' ELSE 'paper' END,
       CASE WHEN reason LIKE 'text message not understood: %' THEN 'message' ELSE 'call_back' END,
       CASE WHEN reason LIKE 'text message not understood: %' THEN substr(reason, 30) END,
       source, actor, created_at,
       CASE WHEN done_at IS NULL THEN 'open' ELSE 'closed' END,
       nullif(done_note, ''), done_by, done_at, done_at, CASE WHEN done_at IS NOT NULL THEN 'call' END,
       done_by, done_at
FROM followups;
DROP TABLE followups;
""")


@migrations(name="0021_approval_and_retention")
def approval_and_retention(db: Database) -> None:
    """Notices that wait for approval (who approved or sent back, when, with what comment; while
    held, publish_at is far in the future and the time asked for is kept apart), and a log of what
    retention removed (what kind of data and how much, never the data itself)."""
    run_sql(db, """
ALTER TABLE notices ADD COLUMN approval TEXT CHECK (approval IN ('waiting', 'approved', 'sent_back'));
ALTER TABLE notices ADD COLUMN approved_by TEXT;
ALTER TABLE notices ADD COLUMN approved_at TEXT;
ALTER TABLE notices ADD COLUMN approval_comment TEXT;
ALTER TABLE notices ADD COLUMN requested_publish_at TEXT;
CREATE INDEX notices_approval ON notices(approval);
CREATE TABLE retention_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    what TEXT NOT NULL,
    family_id INTEGER,
    count INTEGER NOT NULL,
    detail TEXT NOT NULL,
    actor TEXT NOT NULL
);
""")


@migrations(name="0022_district_link")
def district_link(db: Database) -> None:
    """The school's link to its district (one row): where, its token, and how far its ledger has
    been forwarded (the events' seq the district has confirmed)."""
    run_sql(db, """
CREATE TABLE district_link (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    server TEXT NOT NULL,
    token TEXT NOT NULL,
    school_id INTEGER NOT NULL,
    forwarded_seq INTEGER NOT NULL DEFAULT 0,
    linked_at TEXT NOT NULL,
    last_push_at TEXT
);
""")


@migrations(name="0023_district_notices")
def district_notices(db: Database) -> None:
    """Notices written at the district and pulled by this school (which of its notices each became),
    and how far the roster's and notices' changes have been forwarded (change_log's seq)."""
    run_sql(db, """
ALTER TABLE district_link ADD COLUMN changes_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE district_notices (
    district_id INTEGER PRIMARY KEY,
    notice_id INTEGER NOT NULL UNIQUE REFERENCES notices(id),
    pulled_at TEXT NOT NULL
);
""")


@migrations(name="0024_student_moves")
def student_moves(db: Database) -> None:
    """A student moved to another family changes the family it left as well (its classes, which
    the district counts notices by): the change log names that family too. (A kiosk already
    follows the student itself, whose row names its new family.)"""
    db.execute("CREATE TRIGGER change_students_moved AFTER UPDATE OF family_id ON students"
               " WHEN OLD.family_id IS NOT NEW.family_id BEGIN"
               " INSERT INTO change_log (entity, entity_id) VALUES ('families', OLD.family_id); END")
