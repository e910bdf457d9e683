"""The district roll-up: school nodes forward their ledgers to one PostgreSQL database.

The school node stays on SQLite; the district runs on PostgreSQL (psycopg 3), with events
partitioned by school (docs/operations.md, "Beyond one school"). It never holds names,
phone numbers or links: only pseudonymous family references and their events.
"""
