"""The demo school: 3 classes, ~90 families across languages and channels, this week's
notices, and receipts from every channel so far. Built through the real importer and
the real ledger API, into a temp file that replaces the target only when complete.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import tempfile
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from server import approval, clock, concerns, ledger, links, notices, receipts, roster, settings, users
from server import db as database
from server.consent import set_consent

CLASSES = ("3A", "3B", "4A")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许邓冯韩曹彭"
GIVEN = ["子涵", "一诺", "浩然", "梓萱", "宇轩", "欣怡", "俊杰", "雨桐", "家豪", "思琪", "志明", "佳怡",
         "晓东", "嘉欣", "文博", "诗涵", "天佑", "若曦", "明轩", "可馨"]
ENGLISH = [("Amir", "Khan"), ("Maria", "Santos"), ("Liam", "Nguyen"), ("Aisha", "Rahman"), ("Noah", "Garcia"),
           ("Priya", "Sharma"), ("Tom", "Wilson"), ("Ana", "Reyes")]
LANGUAGE_MIX = [("zh-Hans", 0.62), ("zh-Hant", 0.14), ("yue-Hant", 0.12), ("en", 0.12)]
CHANNEL_MIX = [("digital", 0.45), ("paper", 0.25), ("voice", 0.15), ("sms", 0.08), ("kiosk", 0.07)]
STAFF = [("admin", "admin-demo", "admin", "校长 Principal", None), ("office", "office-demo", "office", "办公室 Office", None),
         ("teacher3a", "teacher-demo", "teacher", "3A 陈老师", ["3A"]), ("teacher3b", "teacher-demo", "teacher", "3B 林老师", ["3B"]),
         ("teacher4a", "teacher-demo", "teacher", "4A 何老师", ["4A"]), ("volunteer", "246813", "volunteer", "志愿者 Volunteer", None)]

NOTICES: list[dict[str, Any]] = [
    dict(texts={"zh-Hans": ("秋季植物园研学", "本周五上午9点出发前往植物园，请穿运动鞋、带水壶。午餐由学校提供。"),
                "zh-Hant": ("秋季植物園研學", "本週五上午9點出發前往植物園，請穿運動鞋、帶水壺。午餐由學校提供。"),
                "en": ("Autumn trip to the botanical garden", "We leave on Friday at 9 am. Please wear trainers and bring a water bottle. Lunch is provided.")},
         classes=["3A", "3B"], reply_options=["attend", "absent"], due_offset=3),
    dict(texts={"zh-Hans": ("家长开放日", "下周三下午2点至4点为家长开放日，欢迎到校参观课堂并与老师交流。"),
                "zh-Hant": ("家長開放日", "下週三下午2點至4點為家長開放日，歡迎到校參觀課堂並與老師交流。"),
                "en": ("Parents' open day", "Next Wednesday, 2-4 pm: visit the classrooms and meet the teachers.")},
         classes=None, reply_options=["yes", "no"], due_offset=6),
    dict(texts={"zh-Hans": ("流感疫苗接种同意书", "学校将于下月初安排流感疫苗接种，请家长确认是否同意孩子接种。"),
                "en": ("Flu vaccination consent", "The school nurse will offer flu vaccination early next month. Please tell us whether you agree.")},
         classes=None, reply_options=["agree", "disagree"], private=True, due_offset=5),
    dict(texts={"zh-Hans": ("冬季作息时间调整", "自下周一起，上午到校时间调整为8:10，下午放学时间为16:00。"),
                "zh-Hant": ("冬季作息時間調整", "自下週一起，上午到校時間調整為8:10，下午放學時間為16:00。"),
                "en": ("Winter timetable", "From next Monday school starts at 8:10 and ends at 16:00.")},
         classes=None, reply_options=[]),
    dict(texts={"zh-Hans": ("四年级数学竞赛报名", "四年级数学兴趣竞赛下周报名，自愿参加。"),
                "en": ("Year 4 maths contest", "Sign-up for the Year 4 maths contest is next week; taking part is voluntary.")},
         classes=["4A"], reply_options=["attend", "absent"], requires_confirmation=False, due_offset=4),
]


def _pick(rng: random.Random, mix: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]


def _deck(rng: random.Random, mix: list[tuple[str, float]], n: int) -> list[str]:
    """``n`` picks in exactly the mix's shares, shuffled: every channel has its families in the
    demo (random picks gave the help desk one family of 90, so some days no kiosk receipt)."""
    deck = [key for key, share in mix for _ in range(round(share * n))]
    deck += [mix[0][0]] * (n - len(deck))
    rng.shuffle(deck)
    return deck[:n]


def _phone(rng: random.Random) -> str:
    return "13" + str(rng.randint(0, 9)) + f"{rng.randint(0, 99_999_999):08d}"


def roster_rows(rng: random.Random, families: int = 90) -> list[dict]:
    """Roster lines as a school office would export them (Chinese headers)."""
    rows, student_no = [], 1
    channels = _deck(rng, CHANNEL_MIX, families)
    for f in range(families):
        language = _pick(rng, LANGUAGE_MIX)
        channel = channels[f]
        english = language == "en"
        surname = rng.choice(ENGLISH)[1] if english else rng.choice(SURNAMES)
        kids = 2 if f % 9 == 4 else 1
        guardians = [("grandmother" if f % 5 == 0 else "parent", _phone(rng))]
        if f % 7 == 3:
            guardians.append(("second", _phone(rng)))  # mother and grandmother, two phones, one family
        for k in range(kids):
            cls = CLASSES[(f + k) % len(CLASSES)]
            name = f"{rng.choice(ENGLISH)[0]} {surname}" if english else surname + rng.choice(GIVEN)
            for role, phone in guardians:
                if english:
                    guardian = f"{'Grandma' if role == 'grandmother' else rng.choice(ENGLISH)[0]} {surname}"
                else:
                    guardian = {"grandmother": f"{surname}奶奶", "second": f"{surname}外婆"}.get(role, surname + rng.choice(GIVEN))
                rows.append({"学号": f"S{2026000 + student_no}", "学生姓名": name, "班级": cls, "家长姓名": guardian,
                             "联系电话": phone, "语言": language, "首选渠道": channel,
                             "有智能手机": "是" if channel == "digital" else "否"})
            student_no += 1
    return rows


def build(path: Path, *, base_url: str = "http://127.0.0.1:5000", seed: int = 7) -> dict:
    """Build the demo into ``path`` (replacing an older demo). Returns a summary."""
    path = Path(path)
    if path.exists() and not _is_demo(path):
        raise ValueError(f"{path} holds a school's own data; the demo will not overwrite it. "
                         "Point --db (or PAPERBRIDGE_DB) at another file.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=".demo-")) / "demo.db"
    db = database.connect(tmp)
    try:
        summary = _populate(db, random.Random(seed), base_url)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    tmp.parent.rmdir()
    return summary


def _is_demo(path: Path) -> bool:
    db = Database(path)
    try:
        return db.table("settings").exists() and bool(db.execute("SELECT 1 FROM settings WHERE key = 'demo'").fetchone())
    finally:
        db.close()


def _populate(db: Database, rng: random.Random, base_url: str) -> dict:
    settings.initialize(db, school_name="示范小学", school_name_en="Demo Primary School", school_id="DEMO",
                        phone_line="+862088880000",
                        default_region="CN", timezone="Asia/Shanghai", base_url=base_url)
    db.execute("INSERT INTO settings (key, value) VALUES ('demo', '1')")
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "roster.csv"
        rows = roster_rows(rng)
        with csv_path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        report = roster.import_roster(db, csv_path)
    for username, password, role, name, classes in STAFF:
        users.add_user(db, username, password, role, display_name=name, classes=classes)
    _call_consent(db)
    notice_ids = _add_notices(db)
    events = _receipts(db, rng, notice_ids)
    _approvals(db)
    _concerns(db, notice_ids)
    return {"families": report.families_created, "students": report.students_added,
            "notices": len(notice_ids), "events": events, "staff": [(u, p, r) for u, p, r, _, _ in STAFF],
            "sample_link": links.url(db, 1)}


def _call_consent(db: Database) -> None:
    """Families who prefer the phone gave consent to calls at the parents' evening (one number
    each), and so did every fourth other family: "Call now" works in the demo for them."""
    rows = db.execute("SELECT f.id, f.preferred_channel, min(g.phone) FROM families f JOIN guardians g"
                      " ON g.family_id = f.id AND g.phone_valid = 1 GROUP BY f.id ORDER BY f.id").fetchall()
    for family_id, channel, phone in rows:
        if channel == "voice" or family_id % 4 == 0:
            set_consent(db, phone, True, "演示：家长会上本人同意 / demo: agreed in person at parents' evening")


def _week_start(db: Database) -> dt.datetime:
    local = clock.now().astimezone(settings.zone(db))
    monday = (local - dt.timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday


def _add_notices(db: Database) -> list[int]:
    monday = _week_start(db)
    publish = min(monday + dt.timedelta(hours=8), clock.now())
    ids = []
    for spec in NOTICES:
        spec = dict(spec)
        due = spec.pop("due_offset", None)
        ids.append(notices.add_notice(
            db, **spec, publish_at=clock.iso(publish), created_by="office",
            due_date=(monday + dt.timedelta(days=due)).date().isoformat() if due else None))
    return ids


TEACHERS_NOTICES = [  # written by teachers while approval was on: one approved, one still waiting
    ("teacher3a", ["3A"], ("周四体育课改在室内", "因天气预报有雨，本周四的体育课改在室内体育馆进行，请穿运动鞋。")),
    ("teacher3b", ["3B"], ("图书角下周开放", "3B班图书角下周一开放，欢迎家长捐赠适合三年级的图书。")),
]


def _approvals(db: Database) -> None:
    """Approval is off in the demo; these two show what it looks like when it is on."""
    ids = [notices.add_notice(db, texts={"zh-Hans": texts}, classes=classes, reply_options=[], created_by=teacher,
                              held=True) for teacher, classes, texts in TEACHERS_NOTICES]
    approval.approve(db, ids[0], by="office", role="office")


def _concerns(db: Database, notice_ids: list[int]) -> None:
    """The concerns register as a school would see it mid-week: open, overdue, answered, closed."""
    family = {f["code"]: f["id"] for f in roster.list_families(db)}
    codes = sorted(family)
    now = clock.now()
    entries = [  # (family code, notice index, channel, kind, words, hours ago, answer, closed)
        (codes[0], 0, "text", "message", "孩子那天发烧不能去", 5, None, False),
        (codes[3], None, "phone", "call_back", None, 60, None, False),
        (codes[7], 0, "link", "message", "下雨的话还去植物园吗？", 30, "小雨照常出发，请带好雨具。", False),
        (codes[11], 1, "kiosk", "message", "奶奶问：开放日可以带弟弟一起来吗？", 20, "可以，欢迎一起来。", False),
        (codes[15], None, "paper", "call_back", None, 80, "已电话联系，家长询问校车时间，已告知。", True),
    ]
    for n, (code, index, channel, kind, words, hours, answer, closed) in enumerate(entries):
        cid = concerns.add(db, family_id=family[code], notice_id=notice_ids[index] if index is not None else None,
                           channel=channel, kind=kind, words=words, source=f"demo:{channel}", actor="family",
                           key=f"demo:concern:{n}", at=clock.iso(now - dt.timedelta(hours=hours)))
        if cid and answer:
            by = concerns.get(db, cid)["assigned_to"] or "office"
            concerns.answer(db, cid, answer, by=by, told_via="call" if closed else None)
        if cid and closed:
            concerns.close(db, cid, by=by)
    concerns.escalate_overdue(db)


def _receipts(db: Database, rng: random.Random, notice_ids: list[int]) -> int:
    """Receipts so far, each through the channel the family prefers (plus some imports)."""
    start = clock.parse(db.execute("SELECT min(publish_at) FROM notices").fetchone()[0])
    span = max((clock.now() - start).total_seconds(), 60)
    families = {f["id"]: f for f in roster.list_families(db)}
    events, imported = [], []
    for notice_id in notice_ids:
        notice = notices.get_notice(db, notice_id)
        for fid in notices.audience(db, notice):
            channel = families[fid]["preferred_channel"]
            if notice["private"] and channel == "paper":
                continue  # private notices are never printed, so no slip comes back
            if rng.random() > {"digital": 0.85, "paper": 0.55, "voice": 0.6, "sms": 0.5, "kiosk": 0.35}[channel]:
                continue
            at = _reading_time(db, rng, start, span)
            if channel == "digital" and rng.random() < 0.3:
                imported.append((f"demo {notice_id}/{fid}", receipts.Receipt(
                    notice=str(notice_id), family=families[fid]["code"], read_at=at)))
                continue
            events.extend(_channel_events(notice, fid, channel, at, rng))
    ledger.record(db, events)
    report = receipts.record_receipts(db, imported, source="import:demo-wechat-export.csv")
    return len(events) + report.recorded


READING_HOURS = [(7, 3), (8, 2), (12, 3), (13, 1), (17, 2), (18, 3), (19, 6), (20, 7), (21, 5), (22, 2), (10, 1),
                 (15, 1)]  # (local hour, weight): before school, lunch, and above all the evening


def _reading_time(db: Database, rng: random.Random, start: dt.datetime, span: float) -> str:
    """When a family reads: a day since ``start``, at an hour families read (never in the future)."""
    zone = settings.zone(db)
    hours, weights = zip(*READING_HOURS, strict=True)
    for _ in range(20):
        day = (start + dt.timedelta(seconds=rng.uniform(0, span))).astimezone(zone)
        moment = day.replace(hour=rng.choices(hours, weights)[0], minute=rng.randrange(60))
        if start < moment <= clock.now():
            return clock.iso(moment)
    return clock.iso(start + dt.timedelta(seconds=rng.uniform(0, span)))


def _channel_events(notice: dict, family_id: int, channel: str, at: str, rng: random.Random) -> list[ledger.Event]:
    nid = notice["id"]
    source = {"digital": "family-link", "paper": "scan:demo-batch-1", "voice": f"call:CA{rng.getrandbits(64):016x}",
              "sms": "sms:demo", "kiosk": "kiosk:desk-1"}[channel]
    actor = "volunteer" if channel == "kiosk" else "family"
    kind = "read" if channel == "digital" and rng.random() < 0.35 else "confirmed"
    out = [ledger.new_event(nid, family_id, channel, kind, occurred_at=at, source=source, actor=actor,
                            dedupe_key=f"demo:{nid}:{family_id}:{kind}")]
    if kind == "confirmed" and notice["reply_options"] and rng.random() < 0.8:
        choice = rng.choice(notice["reply_options"])["key"]
        out.append(ledger.new_event(nid, family_id, channel, "reply", occurred_at=at, source=source, actor=actor,
                                    payload={"choice": choice}, dedupe_key=f"demo:{nid}:{family_id}:reply"))
    return out
