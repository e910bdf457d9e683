"""Schools link to a district and forward their ledgers over real HTTP: the district app under
waitress on a real PostgreSQL, two school nodes on their own SQLite files."""

from __future__ import annotations

import socket

import psycopg
import pytest

from server import db as database
from server import demo, ledger
from server.district import forward, link
from server.district import ledger as district_ledger
from server.serving import BackgroundServer
from tests.district.nodes import code_for, counted, linked_school, paperbridge


def test_two_schools_link_push_and_replay_and_the_district_has_each_event_once(district, tmp_path):
    url, district_url = district
    nodes = {}
    for name, seed in (("East", 7), ("West", 11)):
        path = tmp_path / f"{name}.db"
        demo.build(path, seed=seed)
        linked = paperbridge("--db", str(path), "district", "link", "--server", url, "--enroll",
                             code_for(district_url, name))
        assert linked.exit_code == 0 and f"({name})" in linked.stdout, linked.stderr
        nodes[name] = database.connect(path)
    first = paperbridge("--db", str(tmp_path / "East.db"), "district", "push")
    total = nodes["East"].execute("SELECT count(*) FROM events").fetchone()[0]
    assert first.exit_code == 0 and f"Sent {total} events: {total} new" in first.stdout
    assert "Nothing new to send" in paperbridge("--db", str(tmp_path / "East.db"), "district", "push").stdout
    link.push(nodes["West"], batch_size=150)
    nodes["West"].execute("UPDATE district_link SET forwarded_seq = 0")  # as if every answer had been lost
    replay = link.push(nodes["West"])
    assert replay.recorded == 0 and replay.duplicates == replay.sent > 0
    counted(district_url)
    with psycopg.connect(district_url) as conn:
        per_school = dict(conn.execute("SELECT s.name, count(e.id) FROM schools s JOIN events e ON e.school_id = s.id"
                                       " GROUP BY s.name").fetchall())
        for name, node in nodes.items():
            assert per_school[name] == node.execute("SELECT count(*) FROM events").fetchone()[0]
            school_id = conn.execute("SELECT id FROM schools WHERE name = %s", [name]).fetchone()[0]
            key = forward.family_key(node)
            for row in node.query("SELECT notice_id, family_id FROM receipt_status"):
                assert district_ledger.status_of(conn, school_id, row["notice_id"], forward.family_ref(
                    key, row["family_id"])) == ledger.status_of(node, row["notice_id"], row["family_id"])


def test_a_correction_at_the_school_corrects_the_district(district, tmp_path):
    _url, district_url = district
    node = linked_school(tmp_path, district, "North")
    link.push(node)
    row = next(iter(node.query("SELECT id, notice_id, family_id FROM events WHERE kind = 'confirmed' LIMIT 1")))
    ledger.void(node, row["id"], actor="office", reason="tapped the wrong family")
    assert link.push(node).recorded == 1
    ref = forward.family_ref(forward.family_key(node), row["family_id"])
    counted(district_url)
    with psycopg.connect(district_url) as conn:
        assert district_ledger.status_of(conn, 1, row["notice_id"], ref) == \
            ledger.status_of(node, row["notice_id"], row["family_id"])


def test_a_student_who_moves_family_leaves_the_old_family_without_that_class(district, tmp_path):
    """A roster correction moves a child to another household: at the district the family it
    left loses the class (it is no longer addressed by that class's notices), the new one has it."""
    _url, district_url = district
    node = linked_school(tmp_path, district, "South")
    link.push(node)
    student, old, class_id = node.execute(
        "SELECT id, family_id, class_id FROM students s WHERE active = 1 AND (SELECT count(*) FROM students o"
        " WHERE o.family_id = s.family_id AND o.active = 1) = 1 ORDER BY id LIMIT 1").fetchone()
    new = node.execute("SELECT family_id FROM students WHERE active = 1 AND class_id != ? AND family_id != ?"
                       " ORDER BY id LIMIT 1", [class_id, old]).fetchone()[0]
    node.table("students").update(student, {"family_id": new})
    result = link.push(node)
    assert result.families == 2, result
    key = forward.family_key(node)
    with psycopg.connect(district_url) as conn:
        classes = dict(conn.execute("SELECT family_ref, classes FROM families WHERE family_ref = ANY(%s)",
                                    [[forward.family_ref(key, old), forward.family_ref(key, new)]]).fetchall())
    assert classes[forward.family_ref(key, old)] == []
    assert class_id in classes[forward.family_ref(key, new)]


def test_an_unreachable_district_keeps_everything_to_send(district, tmp_path):
    url, _district_url = district
    node = linked_school(tmp_path, district, "South")
    path = tmp_path / "South.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    node.execute("UPDATE district_link SET server = ?", [closed])
    result = paperbridge("--db", str(path), "district", "push")
    waiting = node.execute("SELECT count(*) FROM events").fetchone()[0]
    assert result.exit_code == 1 and "cannot be reached" in result.stderr
    assert f"{waiting} events wait and will be sent next time" in result.stderr
    assert link.current(node)["forwarded_seq"] == 0
    node.execute("UPDATE district_link SET server = ?", [url])
    assert link.push(node).recorded == waiting


def test_bad_codes_tokens_and_bodies_are_refused_with_a_sentence(district, tmp_path):
    url, district_url = district
    path = tmp_path / "school.db"
    demo.build(path)
    node = database.connect(path)
    with pytest.raises(link.DistrictUnreachable, match="unknown, used or expired"):
        link.link(node, url, "AAAA-BBBB-CCCC")
    code = code_for(district_url, "Used")
    link.link(node, url, code)
    with pytest.raises(link.DistrictUnreachable, match="unknown, used or expired"):
        link.link(database.connect(tmp_path / "other.db"), url, code)
    node.execute("UPDATE district_link SET token = 'pbd_forged'")
    with pytest.raises(link.DistrictUnreachable, match="unknown school token"):
        link.push(node)
    token = _token_of(district_url, node, url)
    good = {"id": "x", "notice_id": 1, "family_ref": "f1", "channel": "paper", "kind": "confirmed",
            "occurred_at": "2026-11-23T08:00:00Z", "recorded_at": "2026-11-23T08:00:00Z"}
    for bad, message in (({"id": "x", "notice_id": 1}, "event 0: family_ref"),
                         ({**good, "occurred_at": "last Tuesday"}, "must be ISO-8601 times"),
                         ({**good, "kind": "seen"}, "unknown kind"),
                         ({**good, "payload": [1]}, "payload must be an object")):
        with pytest.raises(link.DistrictUnreachable, match=message):
            link._post(url + "/district/api/push", {"events": [good, bad][::-1]}, token=token)
    family = {"family_ref": "f1", "language": "en", "channel": "paper", "classes": ["3A"], "grades": ["3"]}
    notice = {"notice_id": 1, "week": "2026-W48", "publish_at": "2026-11-23T08:00:00Z", "whole_school": True,
              "classes": []}
    for body, message in (({"families": "all of them"}, "families must be a list"),
                          ({"families": [{**family, "classes": "3A"}]}, "families 0: needs"),
                          ({"families": [{**family, "classes": [3]}]}, "lists of names"),
                          ({"notices": [{**notice, "publish_at": "soon"}]}, "publish_at must be an ISO-8601"),
                          ({"notices": [{**notice, "district_notice_id": "1"}]}, "district_notice_id is"),
                          ({"notices": [{**notice, "district_notice_id": 99}]}, "no district notice 99")):
        with pytest.raises(link.DistrictUnreachable, match=message):
            link._post(url + "/district/api/push", {"events": [good], **body}, token=token)
    with pytest.raises(link.DistrictUnreachable, match="the only parameter is after"):
        link._get(url + "/district/api/notices?after=-1", token)
    with psycopg.connect(district_url) as conn:  # a refused push takes nothing of it, the good event neither
        assert conn.execute("SELECT count(*) FROM events WHERE id = 'x'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM families").fetchone() == (0,)


def _token_of(district_url: str, node, url: str) -> str:
    link.link(node, url, code_for(district_url, "Again"))
    return link.current(node)["token"]


def test_a_revoked_school_is_refused_until_it_enrols_again(district, tmp_path):
    url, district_url = district
    node = linked_school(tmp_path, district, "Lost")
    school_id = link.current(node)["school_id"]
    revoked = paperbridge("district", "revoke", str(school_id), "--database", district_url)
    assert revoked.exit_code == 0 and "(Lost) revoked" in revoked.stdout
    result = paperbridge("--db", str(tmp_path / "Lost.db"), "district", "push")
    assert result.exit_code == 1 and "revoked" in result.stderr and link.current(node)["forwarded_seq"] == 0
    assert paperbridge("district", "revoke", "99", "--database", district_url).exit_code == 1
    again = paperbridge("district", "code", "--school", str(school_id), "--database", district_url)
    assert again.exit_code == 0 and "Lost" in again.stdout
    code = again.stdout.split("Enrolment code: ")[1].split()[0]
    assert link.link(node, url, code)["school_id"] == school_id
    assert link.push(node).recorded == node.execute("SELECT count(*) FROM events").fetchone()[0]


def test_a_page_that_is_not_the_district_is_said_so_and_nothing_moves(district, tmp_path):
    """A captive portal or another web server answering 200 with HTML: a sentence, the cursor stays."""
    from flask import Flask

    node = linked_school(tmp_path, district, "Portal")
    portal = Flask("portal")
    portal.add_url_rule("/<path:anything>", "page", lambda anything: "<html>Sign in to the Wi-Fi</html>",
                        methods=["POST"])
    with BackgroundServer(portal) as server:
        node.execute("UPDATE district_link SET server = ?", [server.url])
        result = paperbridge("--db", str(tmp_path / "Portal.db"), "district", "push")
    assert result.exit_code == 1 and "not the district" in result.stderr and "Traceback" not in result.stderr
    assert link.current(node)["forwarded_seq"] == 0
