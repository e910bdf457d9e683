"""The class week report: every notice of a week for one class, every family, and who has what."""

from __future__ import annotations

from sqlite_utils import Database

from server import clock, ledger, notices, roster

STATE_MARK = {"confirmed": "✓", "read": "○", "unread": "✗"}


def class_week(db: Database, class_id: str, week: str) -> dict:
    """Notices (with totals) as columns, families as rows, states in the cells."""
    year, number = clock.parse_week(week)
    week = f"{year}-W{number:02d}"
    items = sorted(notices.list_notices(db, week=week, class_ids=[class_id], published_only=True),
                   key=lambda n: (n["publish_at"], n["id"]))
    family_ids = roster.families_in_classes(db, [class_id])
    families = {f["id"]: f for f in roster.list_families(db) if f["id"] in set(family_ids)}
    rows = []
    for family_id in family_ids:
        family = families[family_id]
        states = {n["id"]: ledger.status_of(db, n["id"], family_id) for n in items}
        rows.append({"family_id": family_id, "code": family["code"], "family": family["display_name"],
                     "students": ", ".join(s["name"] for s in family["students"] if s["class_id"] == class_id),
                     "states": states,
                     "done": sum(1 for s in states.values() if s.state == "confirmed")})
    rows.sort(key=lambda r: r["students"])
    columns = []
    for notice in items:
        counts = {state: sum(1 for r in rows if r["states"][notice["id"]].state == state) for state in STATE_MARK}
        columns.append({"notice": notice, "title": notices.title_for(notice, notice["primary_language"]), **counts})
    return {"class_id": class_id, "week": week, "notices": columns, "families": rows}


def flat_rows(report: dict, state_word=str, channel_word=str) -> tuple[list[dict], list[tuple[str, str]]]:
    """One row per family, one column per notice: for CSV and Excel. ``state_word`` and
    ``channel_word`` say the codes in the reader's language (the web passes its labels)."""
    columns = [("students", "Students / 学生"), ("family", "Family / 家庭"), ("code", "Code / 编号")]
    columns += [(f"n{c['notice']['id']}", f"{c['notice']['id']} {c['title']}") for c in report["notices"]]
    columns.append(("done", "Confirmed / 已确认"))
    rows = []
    for family in report["families"]:
        row = {k: family[k] for k in ("students", "family", "code", "done")}
        for column in report["notices"]:
            status = family["states"][column["notice"]["id"]]
            channels = ", ".join(channel_word(c) for c in status.channels)
            row[f"n{column['notice']['id']}"] = state_word(status.state) + (f" ({channels})" if channels else "")
        rows.append(row)
    return rows, columns
