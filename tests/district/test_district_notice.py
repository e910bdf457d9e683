"""A district-wide notice written at the district reaches the families of two schools, one on
paper (printed, ticked, scanned) and one on the phone (a call, key 1), and comes back to the
district as one picture."""

from __future__ import annotations

import json
import random

import cv2
import numpy as np
import psycopg

from bench.scan_corpus import Marker, office, rasterise, slips_by_page
from ivr.simulator import Phone
from print.bulletin import print_bulletins
from print.layout import CURRENT
from print.render import slip_origin_mm
from print.scan import scan_paths
from server import clock, ledger, settings
from server.app import create_app
from server.district import forward, link, report
from tests.district.nodes import linked_school, paperbridge

TYPHOON = {"en": ("Typhoon: all schools closed on Friday", "Stay at home; lessons resume on Monday."),
           "zh-Hans": ("台风停课通知", "周五全区停课，周一复课。")}


def write_notice(district_url: str) -> int:
    args = [arg for lang, (title, body) in TYPHOON.items() for arg in ("--text", lang, title, body)]
    result = paperbridge("district", "notice", *args, "--database", district_url)
    assert result.exit_code == 0, result.stderr
    return int(result.stdout.split("District notice ")[1].split()[0])


def local_notice(node, district_id: int) -> int:
    return node.execute("SELECT notice_id FROM district_notices WHERE district_id = ?", [district_id]).fetchone()[0]


def confirm_on_paper(node, notice_id: int, tmp_path) -> int:
    """Print one paper family's bulletin, tick the notice's box, scan the page; the family's id."""
    family = node.execute("SELECT id, code FROM families WHERE preferred_channel = 'paper' AND id IN"
                          " (SELECT family_id FROM students WHERE active = 1) ORDER BY id LIMIT 1").fetchone()
    pdf = print_bulletins(node, clock.iso_week(clock.now(), settings.zone(node)), out=tmp_path / "paper.pdf",
                          family_code=family[1]).out
    pages = slips_by_page(node, pdf)
    (index, record), = pages.items()
    row = [n["id"] for n in record["notices"]].index(notice_id)
    image = list(rasterise(pdf, 200))[index]
    r = random.Random(4)
    Marker(image, 200, slip_origin_mm("a4", CURRENT), r).mark(CURRENT.read_box(row), "tick")
    cv2.imwrite(str(tmp_path / "returned.png"), office(image, r, np.random.default_rng(4)))
    assert scan_paths(node, [tmp_path / "returned.png"]).summary()["review"] == 0
    return family[0]


def confirm_by_phone(node, path, notice_title: str) -> int:
    """A guardian whose number is one family's calls in, skips to the notice and presses 1."""
    phone, family_id = node.execute(
        "SELECT g.phone, min(g.family_id) FROM guardians g JOIN families f ON f.id = g.family_id WHERE g.active = 1"
        " AND g.phone_valid = 1 AND f.language = 'zh-Hans' GROUP BY g.phone HAVING count(DISTINCT g.family_id) = 1"
        " ORDER BY g.phone").fetchone()
    caller = Phone(create_app({"DATABASE": str(path), "TESTING": True}), phone)
    turn = caller.dial()
    for _ in range(60):
        if notice_title in turn.text:
            break
        turn = caller.press("")  # silence: asked once more, then the next notice
    assert notice_title in turn.text
    assert "Confirmed" in caller.press("1").text or "已确认" in caller.log[-1].text
    return family_id


def test_a_district_notice_reaches_two_schools_by_paper_and_phone_and_comes_back_as_one_picture(district, tmp_path):
    url, district_url = district
    east, west = linked_school(tmp_path, district, "East"), linked_school(tmp_path, district, "West", seed=11)
    district_id = write_notice(district_url)
    for name in ("East", "West"):
        pushed = paperbridge("--db", str(tmp_path / f"{name}.db"), "district", "push")
        assert pushed.exit_code == 0 and "Received 1 district notices" in pushed.stdout, pushed.output
    assert "Received" not in paperbridge("--db", str(tmp_path / "East.db"), "district", "push").stdout  # once

    on_paper = confirm_on_paper(east, local_notice(east, district_id), tmp_path)
    by_phone = confirm_by_phone(west, tmp_path / "West.db", TYPHOON["zh-Hans"][0])
    for node in (east, west):
        link.push(node)

    status = paperbridge("district", "status", "--notice", str(district_id), "--format", "json",
                         "--database", district_url)
    rows = {row["school"]: row for row in json.loads(status.stdout)}
    for name, node, family, channel in (("East", east, on_paper, "paper"), ("West", west, by_phone, "voice")):
        notice_id = local_notice(node, district_id)
        at_school = ledger.notice_status(node, notice_id)
        addressed = len({f for (f,) in node.execute("SELECT DISTINCT family_id FROM students WHERE active = 1")})
        assert at_school[family].state == "confirmed" and channel in at_school[family].channels
        confirmed = sum(s.state == "confirmed" for s in at_school.values())
        assert rows[name]["published"] and rows[name]["families"] == addressed
        assert rows[name]["confirmed"] == confirmed >= 1 and rows[name][channel] >= 1
        assert rows[name]["unread"] == addressed - confirmed - sum(s.state == "read" for s in at_school.values())
        assert rows[name]["events_received"] == node.execute("SELECT count(*) FROM events").fetchone()[0]
    with psycopg.connect(district_url) as conn:
        east_id = next(r["school_id"] for r in rows.values() if r["school"] == "East")
        grades = report.drill(conn, district_id, east_id)
        assert sum(g["confirmed"] for g in grades) >= 1 and all(g["families"] > 0 for g in grades)
        assert report.over_time(conn, district_id)[-1]["confirmed"] == sum(r["confirmed"] for r in rows.values())
        refs = {r[0] for r in conn.execute("SELECT family_ref FROM families")}
    key = forward.family_key(east)
    assert forward.family_ref(key, on_paper) in refs and str(on_paper) not in refs


def test_bad_district_notices_and_accounts_are_refused_with_a_sentence_and_nothing_written(district):
    _url, district_url = district

    def district_cli(*args: str):
        return paperbridge("district", *args, "--database", district_url)

    for args, message in ((["--text", "fr", "Titre", "Corps"], "notices are written in"),
                          (["--text", "en", "Title", " "], "needs both a title and a body"),
                          (["--text", "en", "T", "B", "--reply", "maybe"], "not a known answer"),
                          (["--text", "en", "T", "B", "--reply", "yes", "--reply", "yes"], "must differ"),
                          (["--text", "en", "T", "B", "--due", "next Friday"], "not a date like"),
                          (["--text", "en", "T", "B", "--publish-at", "soon"], "not a time like")):
        result = district_cli("notice", *args)
        assert result.exit_code == 1 and "Traceback" not in result.output and message in result.output, result.output
    assert district_cli("notices", "--format", "json").stdout.strip() == "[]"
    missing = district_cli("status", "--notice", "99")
    assert missing.exit_code == 1 and "there is no district notice 99" in missing.output
    for args, message in ((["wang", "--role", "admin", "--password", "short"], "at least 8 characters"),
                          (["li", "--role", "viewer", "--password", "long-enough"], "needs its school"),
                          (["li", "--role", "viewer", "--school", "42", "--password", "long-enough"], "no school 42"),
                          (["x y", "--role", "admin", "--password", "long-enough"], "letters, digits")):
        result = district_cli("user", "add", *args)
        assert result.exit_code == 1 and message in result.output, result.output
    assert district_cli("user", "list", "--format", "json").stdout.strip() == "[]"
