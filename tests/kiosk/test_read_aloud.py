"""Read-aloud with no internet and no browser voices: the server renders each notice, the kiosk
pulls each clip once, and a real Chromium plays it; a teacher's recording comes first."""

import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk import store, sync
from kiosk.app import create_kiosk_app
from server import notices, speech
from server.serving import BackgroundServer
from tests.builders import make_notice

pytestmark = pytest.mark.skipif(not speech.ready(), reason="espeak-ng and ffmpeg are installed by ./run.sh test")


def ogg_seconds(path: Path) -> float:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    stamp = [p for p in out.stderr.replace("\r", "\n").split() if p.startswith("time=")][-1].split("=")[1]
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@contextmanager
def desk_page(browser, tmp_path):
    """The kiosk's own server and a Chromium page signed in as the volunteer: (page, base URL)."""
    with BackgroundServer(create_kiosk_app(tmp_path / "kiosk.db")) as server:
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        try:
            page.goto(server.url + "/login")
            page.fill("input[name=username]", "vol")
            page.fill("input[name=pin]", "246813")
            page.click("button.big")
            yield page, server.url
        finally:
            context.close()


def test_every_family_language_gets_a_clip_in_the_voice_of_the_text_it_is_shown(db, school):
    both = make_notice(db)  # Chinese and English texts
    chinese_only = make_notice(db, texts={"zh-Hans": ("运动会", "周五开运动会，请穿运动鞋。")})
    heard = {}
    for notice_id in (both, chinese_only):
        notice = notices.get_notice(db, notice_id)
        for language in ("zh-Hans", "zh-Hant", "yue-Hant", "en"):
            clip = speech.clip_for(db, notice, language)
            assert clip.path.read_bytes()[:4] == b"OggS" and 0.5 < ogg_seconds(clip.path) < 30
            heard[notice_id, language] = clip
    assert heard[both, "en"].voice == "en" and heard[chinese_only, "en"].voice == "cmn"  # no English: Chinese speech
    assert heard[both, "yue-Hant"].voice == "yue" and heard[both, "zh-Hant"].sha == heard[both, "zh-Hans"].sha
    clip = heard[chinese_only, "zh-Hans"]
    assert clip.path.stat().st_size / ogg_seconds(clip.path) < 1200  # about 1 KB a second: a few KB per 10 s
    again = speech.clip_for(db, notices.get_notice(db, chinese_only), "zh-Hans")
    assert again.path.stat().st_mtime == clip.path.stat().st_mtime  # rendered once, by content hash


def test_a_recording_is_used_first_and_bad_uploads_keep_nothing(db, school, tmp_path):
    notice = notices.get_notice(db, make_notice(db))
    wav = tmp_path / "teacher.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "a teacher reading the notice"], check=True)
    speech.save_recording(db, notice, "cmn", wav.read_bytes(), actor="chen")
    clip = speech.clip_for(db, notice, "zh-Hans")
    assert clip.kind == "recorded" and clip.path.exists() and clip.mp3.read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert speech.clip_for(db, notice, "yue-Hant").kind == "synthetic"  # only the language recorded
    before = sorted(p.name for p in clip.path.parent.iterdir())
    for bad in (b"", b"\x00" * 5000, Path(__file__).read_bytes()):
        with pytest.raises(speech.BadRecording):
            speech.save_recording(db, notice, "yue", bad, actor="chen")
    assert sorted(p.name for p in clip.path.parent.iterdir()) == before  # nothing half-written kept
    with pytest.raises(speech.BadRecording):
        speech.save_recording(db, notice, "fr", wav.read_bytes(), actor="chen")
    assert speech.delete_recording(db, notice["id"], "cmn")
    assert speech.clip_for(db, notice, "zh-Hans").kind == "synthetic"


def test_the_kiosk_pulls_each_clip_once_apart_from_events(db, school, kiosk_db):
    make_notice(db)
    make_notice(db, texts={"zh-Hans": ("运动会", "周五开运动会，请穿运动鞋。")}, classes=None)
    first = sync.sync(kiosk_db)
    assert first.audio_files >= 4 and first.audio_bytes > 0
    rows = list(kiosk_db.query("SELECT * FROM audio"))
    assert all((store.audio_dir(kiosk_db) / f"{r['sha']}.ogg").exists() for r in rows)
    second = sync.sync(kiosk_db)
    assert second.audio_files == 0 and second.audio_bytes == 0  # nothing pulled twice
    assert second.bytes_received < 2000  # the clip list is small


def test_a_kiosk_without_browser_voices_plays_each_notice_in_chromium(browser, db, school, kiosk_db, tmp_path):
    """Headless Chromium has no speech voices at all, like the kiosk that was silent."""
    make_notice(db, reply_options=[], texts={"zh-Hans": ("运动会", "周五开运动会，请穿运动鞋。"),
                                             "en": ("Sports day", "Friday. Wear trainers.")})
    with desk_page(browser, tmp_path) as (page, base):
        assert page.evaluate("speechSynthesis.getVoices().length") == 0
        for language, title, lang in (("zh-Hans", "运动会", "zh-Hans"), ("yue-Hant", "運動會", "zh-Hant"),
                                      ("en", "Sports day", "en")):
            db.execute("UPDATE families SET language = ? WHERE id = ?", [language, school["S1"]])
            sync.sync(kiosk_db)
            page.goto(f"{base}/family/{school['S1']}")
            card = page.locator("article", has_text=title)
            assert card.locator("h2").get_attribute("lang") == lang
            card.locator("button.speak").click()
            page.wait_for_function("() => { const a = document.querySelector('.listen audio');"
                                   " return a && a.currentTime > 0.3; }", timeout=15000)
            assert card.locator(".no-voice").is_hidden()
    voices = {r[0] for r in kiosk_db.execute("SELECT voice FROM audio")}
    assert voices == {"cmn", "yue", "en"}


def test_no_clip_and_no_voice_says_so_plainly(browser, db, school, kiosk_db, tmp_path, monkeypatch):
    make_notice(db, reply_options=[], texts={"zh-Hans": ("运动会", "周五开运动会。")})
    monkeypatch.setattr(speech, "ready", lambda: False)  # a server without the speech tools
    sync.sync(kiosk_db)
    assert not list(kiosk_db.query("SELECT * FROM audio"))
    with desk_page(browser, tmp_path) as (page, base):
        page.goto(f"{base}/family/{school['S1']}")
        page.locator("button.speak").first.click()
        assert page.locator(".no-voice").first.is_visible() and "请读给家长听" in page.locator(".no-voice").first.inner_text()
