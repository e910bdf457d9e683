"""Reading-time insight: when families read and confirm, how fast, by which channel, and when a
class's notices are best sent. For the whole school, a grade, a class, and a class's families.

Every figure is over (notice, family) pairs: the current (not replaced) notices published in the
period, each with every active family it is addressed to. A pair counts as confirmed at its
``receipt_status.confirmed_at`` (so a voided confirmation does not count), credited to the
channel of that confirmation. Times to confirm are from the notice's publish time.

The work is one pass over the period's status rows, grouped by notice in the table's own order
(no sort), each notice's rows handed over as number lists and counted with numpy: histograms of
whole hours to confirm per class and per channel, first reads and confirmations per UTC hour
(turned into the school's local weekday × hour). A whole-node report over 50,000 families takes
about 0.6 s (bench/insight_bench.py; docs/teachers.md).

Example::

    school = report(db)                       # the whole school, last 8 weeks
    grade = report(db, classes=grade_classes(db, "3"))
    rows = rollup(db, "school")               # one row per grade
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
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
                "within_72_pct": self.share(self.within_72), "median_hours": self.median_hours,
                "within_24": self.within_24, "within_72": self.within_72, "hours": dict(self.hours)}


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


def _notices(db: Database, start: str, end: str) -> tuple[list[int], list[int]]:
    """(whole-school, class) ids of the current notices published in the period."""
    wide: list[int] = []
    narrow: list[int] = []
    for notice_id, whole in db.execute(
            "SELECT id, whole_school FROM notices WHERE publish_at > ? AND publish_at <= ? AND id NOT IN"
            " (SELECT replaces FROM notices WHERE replaces IS NOT NULL AND publish_at <= ?)", [start, end, end]):
        (wide if whole else narrow).append(notice_id)
    return wide, narrow


def _marks(values: list) -> str:
    return ",".join("?" * len(values)) or "NULL"


@dataclass
class Scan:
    """Everything one pass over the period's status rows gives (see :func:`scan`)."""

    per_class: dict[str, Figures]
    per_channel: dict[str, Figures]
    heat: dict[str, list[list[int]]]


EPOCH_SECONDS = "CAST((julianday({column}) - 2440587.5) * 86400 + 0.5 AS INTEGER)"  # seconds since 1970, UTC


def scan(db: Database, classes: list[str] | None = None, *, start: str, end: str) -> Scan:
    """One pass over the status rows of the period's notices, grouped by notice in the table's own
    order (no sort), each group's rows as number lists counted with numpy: per class, per
    channel and per local hour.

    Per class, a family counts in each of its (active) classes a notice is addressed to;
    channels and the weekday × hour grid count each (notice, family) once."""
    import numpy as np  # start-up speed: numpy loads only for a report

    wide, narrow = _notices(db, start, end)
    scope = "" if classes is None else f" AND class_id IN ({_marks(classes)})"
    args = [] if classes is None else list(classes)
    names = sorted({r[0] for r in db.execute(f"SELECT class_id FROM students WHERE active = 1{scope}", args)})
    class_number = {c: i for i, c in enumerate(names)}
    family_classes: dict[int, list[int]] = {}
    for family_id, class_id in db.execute(f"SELECT DISTINCT family_id, class_id FROM students WHERE active = 1{scope}",
                                          args):
        family_classes.setdefault(family_id, []).append(class_number[class_id])
    counts = dict(db.execute(f"SELECT class_id, count(DISTINCT family_id) FROM students WHERE active = 1{scope}"
                             " GROUP BY class_id", args).fetchall())
    addressed: dict[int, set[int]] = {n: set() for n in narrow}
    for notice_id, class_id in db.execute(f"SELECT notice_id, class_id FROM notice_classes WHERE notice_id IN"
                                          f" ({_marks(narrow)})", narrow):
        if class_id in class_number:
            addressed[notice_id].add(class_number[class_id])
    per_class = {c: Figures(c, pairs=n * (len(wide) + sum(class_number[c] in a for a in addressed.values())))
                 for c, n in counts.items()}
    biggest = max(family_classes, default=0) + 1
    first_class = np.full(biggest, -1, dtype=np.int64)  # family id -> its (first) class number, -1: none
    for family_id, numbers in family_classes.items():
        first_class[family_id] = numbers[0]
    more = {f: c[1:] for f, c in family_classes.items() if len(c) > 1}
    channel_names: dict[str, int] = {}
    class_hours = np.zeros((len(names) + 1) * (CAP + 1), dtype=np.int64)  # (class, hours) -> pairs
    channel_hours: list = []
    read_at: list = []
    confirmed_at: list = []
    ids = wide + narrow
    publish = {r[0]: r[1] for r in db.execute(
        f"SELECT id, {EPOCH_SECONDS.format(column='publish_at')} FROM notices WHERE id IN ({_marks(ids)})", ids)}
    in_scope = "" if classes is None else \
        f" AND rs.family_id IN (SELECT family_id FROM students WHERE active = 1 AND class_id IN ({_marks(classes)}))"
    for notice_id, families, confirmed, channels, first in db.execute(
            "SELECT rs.notice_id, group_concat(CASE WHEN rs.confirmed_at IS NOT NULL THEN rs.family_id END),"
            f" group_concat({EPOCH_SECONDS.format(column='rs.confirmed_at')}),"
            " group_concat(CASE WHEN rs.confirmed_at IS NULL THEN NULL WHEN instr(rs.channels, ',') = 0"
            "   THEN rs.channels ELSE coalesce((SELECT e.channel FROM events e WHERE e.notice_id = rs.notice_id"
            "   AND e.family_id = rs.family_id AND e.kind IN ('confirmed', 'reply')"
            "   AND e.occurred_at = rs.confirmed_at LIMIT 1), 'other') END, '|'),"
            f" group_concat({EPOCH_SECONDS.format(column='rs.first_at')})"
            f" FROM receipt_status rs WHERE rs.notice_id IN ({_marks(ids)}){in_scope}"
            " GROUP BY rs.notice_id", ids + args):
        if first:
            read_at.append(np.fromstring(first, dtype=np.int64, sep=","))
        if not families:
            continue
        seconds = np.fromstring(confirmed, dtype=np.int64, sep=",")
        confirmed_at.append(seconds)
        hours = np.clip((seconds - publish[notice_id]) // 3600, 0, CAP)
        parts = channels.split("|")
        lookup = {c: channel_names.setdefault(c, len(channel_names)) for c in set(parts)}
        channel_hours.append(np.array([lookup[c] for c in parts], dtype=np.int64) * (CAP + 1) + hours)
        fams = np.fromstring(families, dtype=np.int64, sep=",")
        _by_class(class_hours, fams, hours, first_class, more, addressed.get(notice_id))
    for number, row in enumerate(class_hours.reshape(-1, CAP + 1)[:len(names)]):
        if row.any():
            _add_histogram(per_class.setdefault(names[number], Figures(names[number])), row)
    per_channel: dict[str, Figures] = {}
    if channel_hours:
        found = np.bincount(np.concatenate(channel_hours), minlength=len(channel_names) * (CAP + 1))
        for channel, code in channel_names.items():
            _add_histogram(per_channel.setdefault(channel, Figures(channel)), found[code * (CAP + 1):(code + 1) * (CAP + 1)])
    return Scan(per_class, per_channel, {"read": _grid(db, read_at), "confirmed": _grid(db, confirmed_at)})


def _add_histogram(figures: Figures, row) -> None:
    """Add a numpy histogram of whole hours to confirm (index = hours) to ``figures``."""
    hours = row.nonzero()[0]
    figures.hours.update(dict(zip(hours.tolist(), row[hours].tolist(), strict=True)))
    figures.confirmed += int(row.sum())
    figures.within_24 += int(row[:24].sum())
    figures.within_72 += int(row[:72].sum())


def _by_class(class_hours, fams, hours, first_class, more: dict[int, list[int]], only: set[int] | None) -> None:
    """Add one notice's confirmations to the (class, hours) counts: each family in its classes
    (for a class notice, only those it was addressed to); families of no class in scope skipped."""
    import numpy as np  # start-up speed: numpy loads only for a report

    inside = fams < len(first_class)
    numbers = np.where(inside, first_class[np.where(inside, fams, 0)], -1)
    keep = numbers >= 0
    if only is not None:
        keep &= np.isin(numbers, list(only))
    class_hours += np.bincount(numbers[keep] * (CAP + 1) + hours[keep], minlength=len(class_hours))[:len(class_hours)]
    if not more:
        return
    for family_id, hour in zip(fams.tolist(), hours.tolist(), strict=True):  # children in two classes: rare
        for number in more.get(family_id, ()):
            if only is None or number in only:
                class_hours[number * (CAP + 1) + hour] += 1


def _grid(db: Database, seconds: list) -> list[list[int]]:
    """Times (seconds since 1970, UTC) as counts per the school's local weekday (Monday first) × hour."""
    import numpy as np  # start-up speed: numpy loads only for a report

    zone = settings.zone(db)
    grid = [[0] * 24 for _ in range(7)]
    if not seconds:
        return grid
    hours = np.concatenate(seconds) // 3600
    first = int(hours.min())
    for offset, count in enumerate(np.bincount(hours - first).tolist()):
        if count:
            local = dt.datetime.fromtimestamp((first + offset) * 3600, dt.timezone.utc).astimezone(zone)
            grid[local.weekday()][local.hour] += count
    return grid


def _count(figures: Figures, hour: int, count: int) -> None:
    figures.confirmed += count
    figures.hours[hour] += count
    if hour < 24:
        figures.within_24 += count
    if hour < 72:
        figures.within_72 += count


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
    found = scan(db, classes, start=start, end=end)
    total = Figures(name)
    for figures in found.per_class.values():
        total.add(figures)
    return {"name": name, "start": start, "end": end, "weeks": weeks, "total": total.as_row(),
            "channels": {c: f.as_row() for c, f in sorted(found.per_channel.items())},
            "heat": found.heat, "suggested_hour": suggested_hour(found.heat["read"]),
            "classes": [found.per_class[c].as_row() for c in sorted(found.per_class)]}


def rollup(db: Database, level: str, key: str = "", *, weeks: int = WEEKS, now: dt.datetime | None = None,
           classes: list[str] | None = None, report_of: dict | None = None) -> list[dict]:
    """The rows one level down: school -> grades, grade ``key`` -> classes, class ``key`` -> families.
    ``classes`` limits what may be seen (a teacher's own); ``report_of`` reuses the classes of a
    report of the same scope and period instead of counting again."""
    start, end = period(now, weeks)
    if level == "class":
        return _families(db, key, start, end)
    scope = grade_classes(db, key) if level == "grade" else all_classes(db)
    if classes is not None:
        scope = [c for c in scope if c in classes]
    if report_of is not None:
        per_class = {r["name"]: r for r in report_of["classes"]}
    else:
        everything = level == "school" and classes is None  # no class list to check: faster
        found = scan(db, None if everything else scope, start=start, end=end)
        per_class = {c: f.as_row() for c, f in found.per_class.items()}
    if level == "grade":
        return [per_class.get(c, Figures(c).as_row()) for c in scope]
    grades: dict[str, Figures] = {}
    for class_id in scope:
        row = per_class.get(class_id)
        target = grades.setdefault(grade_of(class_id), Figures(grade_of(class_id)))
        if row:
            target.add(_from_row(row))
    return [grades[g].as_row() for g in sorted(grades)]


def _from_row(row: dict) -> Figures:
    """A class's Figures back from its row (the histogram is kept in the row for this)."""
    return Figures(row["name"], row["pairs"], row["confirmed"], row["within_24"], row["within_72"],
                   Counter(row["hours"]))


HOURS = f"min(max(CAST((julianday(rs.confirmed_at) - julianday(n.publish_at)) * 24 AS INTEGER), 0), {CAP})"


def _families(db: Database, class_id: str, start: str, end: str) -> list[dict]:
    """One row per family of the class: the same figures over the notices addressed to the class."""
    wide, narrow = _notices(db, start, end)
    addressed = wide + [r[0] for r in db.execute(
        f"SELECT notice_id FROM notice_classes WHERE class_id = ? AND notice_id IN ({_marks(narrow)})",
        [class_id, *narrow])]
    names = {r[0]: (r[1], r[2]) for r in db.execute(
        "SELECT f.id, f.code, f.display_name FROM families f JOIN students s ON s.family_id = f.id"
        " WHERE s.class_id = ? AND s.active = 1", [class_id])}
    figures = {family_id: Figures(name, pairs=len(addressed)) for family_id, (_code, name) in names.items()}
    for family_id, hour, count in db.execute(
            f"SELECT rs.family_id, {HOURS} AS h, count(*) FROM receipt_status rs JOIN notices n ON n.id = rs.notice_id"
            f" WHERE rs.notice_id IN ({_marks(addressed)}) AND rs.family_id IN"
            " (SELECT family_id FROM students WHERE class_id = ? AND active = 1) AND rs.confirmed_at IS NOT NULL"
            " GROUP BY rs.family_id, h", [*addressed, class_id]):
        _count(figures[family_id], hour, count)
    return [{**figures[family_id].as_row(), "code": code, "family_id": family_id}
            for family_id, (code, _name) in sorted(names.items(), key=lambda item: item[1][1])]


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
