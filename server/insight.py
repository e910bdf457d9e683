"""Reading-time insight: when families read and confirm, how fast, by which channel, and when a
class's notices are best sent. For the whole school, a grade, a class, and a class's families.

Every figure is over (notice, family) pairs: the current (not replaced) notices published in the
period, each with every active family it is addressed to. A pair counts as confirmed at its
``receipt_status.confirmed_at`` (so a voided confirmation does not count), credited to the
channel of that confirmation. Times to confirm are from the notice's publish time.

The work is done by SQL aggregates, not by loading pairs: histograms of whole hours to confirm
(per class, and per channel for the scope), counts of reads and confirmations per UTC hour
(turned into the school's local weekday × hour), so a school-wide report stays fast at 50,000
families (bench/insight_bench.py).

Example::

    school = report(db)                       # the whole school, last 8 weeks
    grade = report(db, classes=grade_classes(db, "3"))
    rows = rollup(db, "school")               # one row per grade
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlite_utils import Database

from server import clock, settings

CAP = 169  # hours; a confirmation a week or more later counts in the last bucket
WEEKS = 8


@dataclass
class Figures:
    """The numbers of one scope (school, grade, class or family)."""

    name: str
    pairs: int = 0  # notices × families addressed
    confirmed: int = 0
    within_24: int = 0
    within_72: int = 0
    hours: Counter = field(default_factory=Counter)  # whole hours to confirm -> pairs

    @property
    def median_hours(self) -> float | None:
        return median(self.hours)

    def share(self, count: int) -> float | None:
        return round(100 * count / self.pairs, 1) if self.pairs else None

    def add(self, other: Figures) -> None:
        self.pairs += other.pairs
        self.confirmed += other.confirmed
        self.within_24 += other.within_24
        self.within_72 += other.within_72
        self.hours.update(other.hours)

    def as_row(self) -> dict:
        return {"name": self.name, "pairs": self.pairs, "confirmed": self.confirmed,
                "confirmed_pct": self.share(self.confirmed), "within_24_pct": self.share(self.within_24),
                "within_72_pct": self.share(self.within_72), "median_hours": self.median_hours}


def median(hours: Counter) -> float | None:
    """The median of a histogram of whole hours (linear within the hour it falls in)."""
    total = sum(hours.values())
    if not total:
        return None
    half, seen = total / 2, 0
    for hour in sorted(hours):
        if seen + hours[hour] >= half:
            return round(hour + (half - seen) / hours[hour], 1)
        seen += hours[hour]
    return float(max(hours))


def grade_of(class_id: str) -> str:
    """'3A' -> '3', 'S01-4B' -> 'S01-4', 'Reception' -> 'Reception'."""
    match = re.match(r"^(.*?\d+)", class_id)
    return match.group(1) if match else class_id


def grade_classes(db: Database, grade: str) -> list[str]:
    return [c for c in all_classes(db) if grade_of(c) == grade]


def all_classes(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM classes ORDER BY id")]


def period(now: dt.datetime | None = None, weeks: int = WEEKS) -> tuple[str, str]:
    end = now or clock.now()
    return clock.iso(end - dt.timedelta(weeks=weeks)), clock.iso(end)


_NOTICES = """
ns AS (SELECT id, publish_at, whole_school FROM notices WHERE publish_at > :start AND publish_at <= :end
       AND id NOT IN (SELECT replaces FROM notices WHERE replaces IS NOT NULL AND publish_at <= :end)),
fam AS (SELECT DISTINCT family_id, class_id FROM students WHERE active = 1 {classes}),
pairs AS (SELECT ns.id AS notice_id, ns.publish_at, fam.family_id, fam.class_id FROM ns JOIN fam
          ON ns.whole_school = 1 OR fam.class_id IN (SELECT class_id FROM notice_classes nc WHERE nc.notice_id = ns.id))
"""


def _params(classes: list[str] | None, start: str, end: str) -> tuple[str, dict]:
    names = {f"c{i}": c for i, c in enumerate(classes or [])}
    where = f"AND class_id IN ({', '.join(':' + n for n in names)})" if classes is not None else ""
    if classes is not None and not classes:
        where = "AND 0"
    return _NOTICES.format(classes=where), {"start": start, "end": end, **names}


def by_class(db: Database, classes: list[str] | None = None, *, start: str, end: str) -> dict[str, Figures]:
    """Figures per class (a family with children in two classes counts in both)."""
    sql, params = _params(classes, start, end)
    out: dict[str, Figures] = {}
    for class_id, pairs in db.execute(f"WITH {sql} SELECT class_id, count(*) FROM pairs GROUP BY class_id", params):
        out[class_id] = Figures(class_id, pairs=pairs)
    for class_id, hour, count in db.execute(
            f"WITH {sql} SELECT p.class_id, min(CAST((julianday(rs.confirmed_at) - julianday(p.publish_at)) * 24"
            f" AS INTEGER), {CAP}) AS h, count(*) FROM pairs p JOIN receipt_status rs ON rs.notice_id = p.notice_id"
            " AND rs.family_id = p.family_id WHERE rs.confirmed_at IS NOT NULL GROUP BY p.class_id, h", params):
        _count(out.setdefault(class_id, Figures(class_id)), max(hour, 0), count)
    return out


def _count(figures: Figures, hour: int, count: int) -> None:
    figures.confirmed += count
    figures.hours[hour] += count
    if hour < 24:
        figures.within_24 += count
    if hour < 72:
        figures.within_72 += count


def by_channel(db: Database, classes: list[str] | None = None, *, start: str, end: str) -> dict[str, Figures]:
    """Figures of confirmations per channel they came by (each family and notice once)."""
    sql, params = _params(classes, start, end)
    out: dict[str, Figures] = {}
    rows = db.execute(
        f"WITH {sql}, done AS (SELECT DISTINCT p.notice_id, p.family_id, p.publish_at, rs.confirmed_at FROM pairs p"
        " JOIN receipt_status rs ON rs.notice_id = p.notice_id AND rs.family_id = p.family_id"
        " WHERE rs.confirmed_at IS NOT NULL)"
        " SELECT (SELECT e.channel FROM events e WHERE e.notice_id = d.notice_id AND e.family_id = d.family_id"
        "   AND e.kind = 'confirmed' AND e.occurred_at = d.confirmed_at LIMIT 1) AS channel,"
        f" min(CAST((julianday(d.confirmed_at) - julianday(d.publish_at)) * 24 AS INTEGER), {CAP}) AS h, count(*)"
        " FROM done d GROUP BY channel, h", params)
    for channel, hour, count in rows:
        _count(out.setdefault(channel or "other", Figures(channel or "other")), max(hour, 0), count)
    return out


def heat(db: Database, classes: list[str] | None = None, *, start: str, end: str) -> dict[str, list[list[int]]]:
    """First reads and confirmations by the school's local weekday (Monday first) × hour."""
    sql, params = _params(classes, start, end)
    zone = settings.zone(db)
    grids = {"read": [[0] * 24 for _ in range(7)], "confirmed": [[0] * 24 for _ in range(7)]}
    for kind, column in (("read", "first_at"), ("confirmed", "confirmed_at")):
        for stamp, count in db.execute(
                f"WITH {sql}, done AS (SELECT DISTINCT p.notice_id, p.family_id, rs.{column} AS at FROM pairs p"
                " JOIN receipt_status rs ON rs.notice_id = p.notice_id AND rs.family_id = p.family_id"
                f" WHERE rs.{column} IS NOT NULL) SELECT substr(at, 1, 13), count(*) FROM done GROUP BY 1", params):
            local = dt.datetime.fromisoformat(stamp + ":00:00+00:00").astimezone(zone)
            grids[kind][local.weekday()][local.hour] += count
    return grids


def suggested_hour(grid: list[list[int]]) -> int | None:
    """The hour to send: one hour before the school-day hour (Monday to Friday) when most families
    first read, so the notice is on top when they look. None without reads."""
    totals = [sum(grid[day][hour] for day in range(5)) for hour in range(24)]
    if not any(totals):
        return None
    peak = max(range(24), key=lambda h: (totals[h], -h))
    return (peak - 1) % 24


def report(db: Database, classes: list[str] | None = None, *, weeks: int = WEEKS, now: dt.datetime | None = None,
           name: str = "") -> dict:
    """The whole picture of one scope (``classes=None``: the whole school)."""
    start, end = period(now, weeks)
    total = Figures(name)
    per_class = by_class(db, classes, start=start, end=end)
    for figures in per_class.values():
        total.add(figures)
    grids = heat(db, classes, start=start, end=end)
    return {"name": name, "start": start, "end": end, "weeks": weeks, "total": total.as_row(),
            "channels": {c: f.as_row() for c, f in sorted(by_channel(db, classes, start=start, end=end).items())},
            "heat": grids, "suggested_hour": suggested_hour(grids["read"]),
            "classes": [per_class[c].as_row() for c in sorted(per_class)]}


def rollup(db: Database, level: str, key: str = "", *, weeks: int = WEEKS, now: dt.datetime | None = None,
           classes: list[str] | None = None) -> list[dict]:
    """The rows one level down: school -> grades, grade ``key`` -> classes, class ``key`` -> families.
    ``classes`` limits what may be seen (a teacher's own)."""
    start, end = period(now, weeks)
    if level == "class":
        return _families(db, key, start, end)
    scope = grade_classes(db, key) if level == "grade" else all_classes(db)
    if classes is not None:
        scope = [c for c in scope if c in classes]
    per_class = by_class(db, scope, start=start, end=end)
    if level == "grade":
        return [per_class.get(c, Figures(c)).as_row() for c in scope]
    grades: dict[str, Figures] = {}
    for class_id in scope:
        grades.setdefault(grade_of(class_id), Figures(grade_of(class_id))).add(per_class.get(class_id, Figures(class_id)))
    return [grades[g].as_row() for g in sorted(grades)]


def _families(db: Database, class_id: str, start: str, end: str) -> list[dict]:
    """One row per family of the class: the same figures over its own notices."""
    sql, params = _params([class_id], start, end)
    figures: dict[int, Figures] = defaultdict(lambda: Figures(""))
    for family_id, pairs in db.execute(f"WITH {sql} SELECT family_id, count(*) FROM pairs GROUP BY family_id",
                                       params):
        figures[family_id].pairs = pairs
    for family_id, hour, count in db.execute(
            f"WITH {sql} SELECT p.family_id, min(CAST((julianday(rs.confirmed_at) - julianday(p.publish_at)) * 24"
            f" AS INTEGER), {CAP}) AS h, count(*) FROM pairs p JOIN receipt_status rs ON rs.notice_id = p.notice_id"
            " AND rs.family_id = p.family_id WHERE rs.confirmed_at IS NOT NULL GROUP BY p.family_id, h", params):
        _count(figures[family_id], max(hour, 0), count)
    names = {r[0]: (r[1], r[2]) for r in db.execute(
        "SELECT f.id, f.code, f.display_name FROM families f JOIN students s ON s.family_id = f.id"
        " WHERE s.class_id = ? AND s.active = 1", [class_id])}
    rows = []
    for family_id, (code, name) in sorted(names.items(), key=lambda item: item[1][1]):
        row = figures[family_id].as_row()
        rows.append({**row, "name": name, "code": code, "family_id": family_id})
    return rows


COLUMNS = [("name", "Name / 名称"), ("pairs", "Notices × families / 通知×家庭"), ("confirmed", "Confirmed / 已确认"),
           ("confirmed_pct", "Confirmed % / 确认率"), ("within_24_pct", "Within 24 h % / 24小时内 %"),
           ("within_72_pct", "Within 72 h % / 72小时内 %"), ("median_hours", "Median hours to confirm / 确认用时中位数")]


def sheets(report: dict, rows: list[dict], weekdays: list[str], channel_word=str) -> list[tuple[str, list[dict],
                                                                                              list[tuple[str, str]]]]:
    """The report as spreadsheet sheets: the level below, the channels, and the weekday × hour grid."""
    channels = [{**row, "name": channel_word(code)} for code, row in report["channels"].items()]
    grid = [{"day": day, **{f"h{h}": report["heat"]["read"][d][h] for h in range(24)}}
            for d, day in enumerate(weekdays)]
    return [(report["name"][:31] or "Report", [{**report["total"], "name": report["name"]}] + rows, COLUMNS),
            ("Channels", channels, [COLUMNS[0], COLUMNS[2], COLUMNS[6]]),
            ("First reads by hour", grid, [("day", "Day / 星期")] + [(f"h{h}", f"{h}:00") for h in range(24)])]
