"""Which families get which notices in a week's bulletin batch (no drawing here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from server import clock, concerns, notices, pins, roster
from server.errors import PaperBridgeError


class NothingToPrint(PaperBridgeError):
    pass


@dataclass
class Section:
    """One family's part of the batch."""

    family: dict
    students: list[dict]
    notices: list[dict]  # printable notices, oldest first
    private_count: int
    pack: str  # the class whose pack carries this bulletin (first student's class)
    pin: str = ""  # the family's secret phone PIN, printed only in its own bulletin
    answers: list[dict] = field(default_factory=list)  # the school's answers to questions asked on paper or at the desk


@dataclass
class Batch:
    week: str
    sections: list[Section] = field(default_factory=list)
    without_notices: list[str] = field(default_factory=list)  # family codes with nothing this week

    def packs(self) -> dict[str, list[Section]]:
        packs: dict[str, list[Section]] = {}
        for section in self.sections:
            packs.setdefault(section.pack, []).append(section)
        return packs


def plan(db: Database, week: str, *, classes: list[str] | None = None, family_code: str | None = None,
         cutoff: str | None = None) -> Batch:
    """Families in class-then-student order with the week's notices published by ``cutoff``."""
    year, number = clock.parse_week(week)
    week = f"{year}-W{number:02d}"
    now = clock.now_iso()
    if cutoff and cutoff > now:
        raise ValueError(f"--cutoff {cutoff} is later than now: a bulletin only carries notices already published")
    families = _families(db, classes, family_code)
    week_notices = [n for n in notices.list_notices(db, week=week, current_only=True) if n["publish_at"] <= (cutoff or now)]
    if not week_notices:
        raise NothingToPrint(f"No notices are published for {week}: there is nothing to print.")
    week_notices.sort(key=lambda n: (n["publish_at"], n["id"]))
    batch = Batch(week)
    for family in families:
        section = _section(family, week_notices, classes)
        if section.notices or section.private_count:
            section.pin = pins.pin_for(db, family["id"])
            section.answers = concerns.for_bulletin(db, family["id"], week)
            batch.sections.append(section)
        else:
            batch.without_notices.append(family["code"])
    if not batch.sections:
        raise NothingToPrint(f"None of the chosen families has a notice in {week}.")
    return batch


def _families(db: Database, classes: list[str] | None, family_code: str | None) -> list[dict]:
    known = {r[0] for r in db.execute("SELECT id FROM classes").fetchall()}
    unknown = [c for c in classes or [] if c not in known]
    if unknown:
        raise PaperBridgeError(f"Unknown class {', '.join(unknown)}. Known classes: {', '.join(sorted(known))}.")
    families = roster.list_families(db)
    if family_code:
        families = [f for f in families if f["code"] == family_code.strip()]
        if not families:
            raise PaperBridgeError(f"No current family has the code {family_code}.")
    if classes:
        families = [f for f in families if any(s["class_id"] in classes for s in f["students"])]
    return families


def _section(family: dict, week_notices: list[dict], classes: list[str] | None) -> Section:
    class_ids = {s["class_id"] for s in family["students"]}
    mine = [n for n in week_notices if n["whole_school"] or class_ids & set(n["classes"])]
    first = family["students"][0]
    pack = first["class_id"] if not classes else next(s["class_id"] for s in family["students"] if s["class_id"] in classes)
    return Section(family=family, students=family["students"], notices=[n for n in mine if not n["private"]],
                   private_count=sum(1 for n in mine if n["private"]), pack=pack)
