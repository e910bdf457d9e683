"""The district's PostgreSQL schema, applied in order and recorded (``paperbridge district init``).

Events and the derived status are partitioned by school (declarative LIST partitioning, one
partition per enrolled school, made when it is added): a school's catch-up writes and a
school's page read one partition, and the distribution column for Citus is the same
``school_id`` (docs/operations.md).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_schools_events", """
CREATE TABLE schools (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(trim(name)) > 0),
    token_hash bytea UNIQUE,
    added_at timestamptz NOT NULL DEFAULT now(),
    enrolled_at timestamptz,
    revoked_at timestamptz,
    last_push_at timestamptz
);
CREATE TABLE enrolment_codes (
    code_hash bytea PRIMARY KEY,
    school_id integer NOT NULL REFERENCES schools(id),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE TABLE events (
    school_id integer NOT NULL,
    id text NOT NULL,
    notice_id bigint NOT NULL,
    family_ref text NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    voids text,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, id)
) PARTITION BY LIST (school_id);
CREATE INDEX events_pair ON events (school_id, notice_id, family_ref);
CREATE INDEX events_voids ON events (school_id, voids) WHERE voids IS NOT NULL;
CREATE TABLE receipt_status (
    school_id integer NOT NULL,
    notice_id bigint NOT NULL,
    family_ref text NOT NULL,
    state text NOT NULL,
    first_at timestamptz,
    confirmed_at timestamptz,
    channels text NOT NULL DEFAULT '',
    reply text,
    reply_at timestamptz,
    delivered text NOT NULL DEFAULT '',
    PRIMARY KEY (school_id, notice_id, family_ref)
) PARTITION BY LIST (school_id);
"""),
    ("0002_notices_families", """
ALTER TABLE schools ADD COLUMN events_received bigint NOT NULL DEFAULT 0;
CREATE TABLE district_notices (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    texts json NOT NULL,  -- json, not jsonb: the languages keep the order they were written in
    reply_options jsonb NOT NULL DEFAULT '[]',
    requires_confirmation boolean NOT NULL DEFAULT true,
    due_date date,
    urgent boolean NOT NULL DEFAULT false,
    publish_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL
);
CREATE TABLE families (
    school_id integer NOT NULL,
    family_ref text NOT NULL,
    language text NOT NULL,
    channel text NOT NULL,
    classes text[] NOT NULL,
    grades text[] NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, family_ref)
) PARTITION BY LIST (school_id);
CREATE TABLE notices (
    school_id integer NOT NULL,
    notice_id bigint NOT NULL,
    district_notice_id integer REFERENCES district_notices(id),
    week text NOT NULL,
    publish_at timestamptz NOT NULL,
    whole_school boolean NOT NULL,
    classes text[] NOT NULL,
    PRIMARY KEY (school_id, notice_id)
) PARTITION BY LIST (school_id);
CREATE INDEX notices_district ON notices (district_notice_id, school_id) WHERE district_notice_id IS NOT NULL;
"""),
    ("0003_district_accounts", """
CREATE TABLE district_users (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'viewer')),
    school_id integer REFERENCES schools(id),
    active boolean NOT NULL DEFAULT true,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    session_version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'viewer') = (school_id IS NOT NULL))
);
CREATE TABLE district_settings (key text PRIMARY KEY, value text NOT NULL);
"""),
    ("0004_status_queue", """
CREATE SEQUENCE push_ids;
ALTER TABLE events ADD COLUMN push_id bigint;  -- the push that brought it (none before this migration)
CREATE INDEX events_push ON events USING brin (school_id, push_id) WITH (autosummarize = on);
CREATE TABLE status_queue (  -- pushes whose pairs' status is not derived yet (server/district/ledger.py)
    push_id bigint PRIMARY KEY,
    school_id integer NOT NULL,
    events integer NOT NULL,
    voids boolean NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
"""),
)
PARTITIONED = ("events", "receipt_status", "families", "notices")


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; their names."""
    with conn.transaction():
        conn.execute("CREATE TABLE IF NOT EXISTS district_migrations (name text PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())")
    done = {name for (name,) in conn.execute("SELECT name FROM district_migrations").fetchall()}
    applied = []
    for name, ddl in MIGRATIONS:
        if name in done:
            continue
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('paperbridge-district-migrate'))")
            if conn.execute("SELECT 1 FROM district_migrations WHERE name = %s", [name]).fetchone():
                continue  # another process applied it while this one waited
            conn.execute(ddl.encode())
            conn.execute("INSERT INTO district_migrations (name) VALUES (%s)", [name])
            for (school_id,) in conn.execute("SELECT id FROM schools").fetchall():
                add_partitions(conn, school_id)  # a table partitioned by school, new to schools already here
        applied.append(name)
    return applied


def add_partitions(conn: psycopg.Connection, school_id: int) -> None:
    """The school's own partition of each table partitioned by school (inside the caller's transaction)."""
    for table in PARTITIONED:
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {part} PARTITION OF {table} FOR VALUES IN ({school})").format(
            part=sql.Identifier(f"{table}_s{school_id}"), table=sql.Identifier(table), school=sql.Literal(school_id)))
