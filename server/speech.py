"""Notices read aloud with no internet: rendered on this machine, or recorded by staff.

Synthetic speech is espeak-ng (Mandarin through its pinyin voice, Cantonese, English),
compressed by ffmpeg to Ogg Opus at 6 kbps (speech, about 7.5 KB per 10 s), and kept beside
the database as ``<db>-audio/<sha>.ogg``, the sha being that of the engine, voice, speed and
words: the same text is rendered once, and a corrected notice gets a new file.

A teacher or the office may record a notice in their own voice, per spoken language; the
recording (anything a browser records or a phone saves: WebM, Ogg, MP3, M4A, WAV) is
converted to Ogg Opus for pages and kiosks and MP3 for the phone line's <Play>, and is used
before any synthetic voice.

Example::

    clip = clip_for(db, notice, "yue-Hant")      # the recording, else espeak-ng's Cantonese
    clip.path.read_bytes()                       # Ogg Opus
    save_recording(db, notice, "cmn", data, actor="chen")
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from server import chinese, clock, notices
from server.db import audio_dir
from server.errors import BadRecording, NoSpeech

VOICES = {"cmn": "cmn-latn-pinyin", "yue": "yue", "en": "en-us"}  # spoken language -> espeak-ng voice
SPOKEN = {"cmn": "普通话", "yue": "廣東話", "en": "English"}
WORDS_PER_MINUTE = 150  # espeak-ng's speed: slow and clear (its default is 175)
BITRATE = "6k"  # Opus, speech: narrow band, like a phone call
MAX_SECONDS = 300  # a recording longer than five minutes is not a notice read aloud
TIMEOUT = 120


@dataclass(frozen=True)
class Clip:
    """A notice's audio for one spoken language: ``kind`` is recorded or synthetic."""

    sha: str
    kind: str
    voice: str
    path: Path  # Ogg Opus

    @property
    def mp3(self) -> Path:
        return self.path.with_suffix(".mp3")  # recordings only


def ready() -> bool:
    """Whether espeak-ng and ffmpeg are installed (./run.sh installs both)."""
    return bool(shutil.which("espeak-ng") and shutil.which("ffmpeg"))


def voice_for(family_language: str, text_language: str) -> str:
    """The spoken language for the text a family is shown: an English family shown a Chinese-only
    notice hears Chinese; Cantonese families hear Cantonese."""
    if text_language == "en":
        return "en"
    return "yue" if family_language == "yue-Hant" else "cmn"


def spoken(notice: dict, family_language: str) -> tuple[str, str]:
    """(the words to say, the spoken language) for this family: title, then body."""
    title, body, used = notices.text_for(notice, family_language)
    stop = ". " if used == "en" else "。"
    text, voice = f"{title.rstrip('。.')}{stop}{body}", voice_for(family_language, used)
    # Mandarin's pinyin voice reads Simplified best; Simplified and Traditional readers share one clip
    return (chinese.to_simplified(text) if voice == "cmn" else text), voice


def clip_for(db: Database, notice: dict, family_language: str, *, render: bool = True,
             folder: Path | None = None) -> Clip | None:
    """The recording for this family's spoken language, else the synthetic voice (rendered now
    when missing and ``render``); None when neither exists nor can be made. ``folder``: the
    audio folder, when the caller already has it (a manifest asks for many clips)."""
    folder = folder or audio_dir(db)
    text, voice = spoken(notice, family_language)
    row = db.execute("SELECT sha FROM notice_recordings WHERE notice_id = ? AND voice = ?",
                     [notice["id"], voice]).fetchone()
    if row:
        return Clip(row[0], "recorded", voice, folder / f"{row[0]}.ogg")
    sha = hashlib.sha256(f"espeak-ng:{VOICES[voice]}:{WORDS_PER_MINUTE}:{BITRATE}\n{text}".encode()).hexdigest()
    path = folder / f"{sha}.ogg"
    if not path.exists():
        if not render or not ready():
            return None
        _synthesize(text, voice, path)
    return Clip(sha, "synthetic", voice, path)


def _synthesize(text: str, voice: str, path: Path) -> None:
    """espeak-ng to WAV, ffmpeg to Ogg Opus, then moved into place (never a half-written file)."""
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        words, wav, ogg = Path(tmp) / "words.txt", Path(tmp) / "speech.wav", Path(tmp) / "speech.ogg"
        words.write_text(text, encoding="utf-8")
        _run(["espeak-ng", "-v", VOICES[voice], "-s", str(WORDS_PER_MINUTE), "-w", str(wav), "-f", str(words)])
        _run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-ac", "1", "-c:a", "libopus", "-b:a", BITRATE,
              "-application", "voip", str(ogg)])
        os.replace(ogg, path)


def save_recording(db: Database, notice: dict, voice: str, data: bytes, *, actor: str) -> Clip:
    """Keep a staff recording of ``notice`` in ``voice`` (cmn, yue, en), replacing an earlier one.
    BadRecording (and nothing kept) if it is empty, not audio, or longer than five minutes."""
    if voice not in VOICES:
        raise BadRecording(f"unknown spoken language {voice!r} (one of {', '.join(VOICES)})")
    if not data:
        raise BadRecording("the recording is empty")
    if not ready():
        raise NoSpeech("recordings need ffmpeg; ./run.sh installs it")
    sha = hashlib.sha256(data).hexdigest()
    folder = audio_dir(db)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = Path(tmp) / "upload"
        source.write_bytes(data)
        seconds = _duration(source)
        if seconds > MAX_SECONDS:
            raise BadRecording(f"the recording is {seconds / 60:.0f} minutes long; at most {MAX_SECONDS // 60}")
        for suffix, codec in ((".ogg", ["-c:a", "libopus", "-b:a", "16k", "-application", "voip"]),
                              (".mp3", ["-c:a", "libmp3lame", "-b:a", "32k", "-ar", "22050"])):
            out = Path(tmp) / f"out{suffix}"
            _run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), "-vn", "-ac", "1", *codec, str(out)],
                 BadRecording("this file is not a sound recording that can be read"))
            os.replace(out, folder / f"{sha}{suffix}")
    db.execute("INSERT OR REPLACE INTO notice_recordings (notice_id, voice, sha, seconds, recorded_by, created_at)"
               " VALUES (?, ?, ?, ?, ?, ?)", [notice["id"], voice, sha, round(seconds, 1), actor, clock.now_iso()])
    return Clip(sha, "recorded", voice, folder / f"{sha}.ogg")


def delete_recording(db: Database, notice_id: int, voice: str) -> bool:
    """Stop using a recording (the synthetic voice reads the notice again). True if there was one."""
    return db.execute("DELETE FROM notice_recordings WHERE notice_id = ? AND voice = ?",
                      [notice_id, voice]).rowcount > 0


def recordings(db: Database, notice_id: int) -> dict[str, dict]:
    """The notice's recordings by spoken language: sha, seconds, recorded_by, created_at."""
    return {r[0]: {"sha": r[1], "seconds": r[2], "recorded_by": r[3], "created_at": r[4]} for r in db.execute(
        "SELECT voice, sha, seconds, recorded_by, created_at FROM notice_recordings WHERE notice_id = ?", [notice_id])}


FAMILY_LANGUAGES = ("zh-Hans", "zh-Hant", "yue-Hant", "en")


def manifest(db: Database, notice_list: list[dict], *, render: bool = True) -> list[dict]:
    """Every clip these notices need, one per notice and spoken language a family may hear:
    notice_id, voice, sha, kind (recorded / synthetic) and bytes (what a kiosk downloads)."""
    out, seen, folder = [], set(), audio_dir(db)
    for notice in notice_list:
        for language in FAMILY_LANGUAGES:
            clip = clip_for(db, notice, language, render=render, folder=folder)
            if clip is not None and (notice["id"], clip.voice) not in seen:
                seen.add((notice["id"], clip.voice))
                out.append({"notice_id": notice["id"], "voice": clip.voice, "sha": clip.sha, "kind": clip.kind,
                            "bytes": clip.path.stat().st_size})
    return out


def file_for(db: Database, sha: str, suffix: str = ".ogg") -> Path | None:
    """The stored audio file with this content hash, if any (``sha`` is checked to be one)."""
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha) or suffix not in (".ogg", ".mp3"):
        return None
    path = audio_dir(db) / f"{sha}{suffix}"
    return path if path.exists() else None


def _duration(path: Path) -> float:
    """Seconds of audio in a file (ffmpeg decodes it to find out); BadRecording if it has none."""
    result = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(path), "-vn", "-f", "null", "-"],
                            capture_output=True, text=True, timeout=TIMEOUT, check=False)
    times = [part.split("=", 1)[1].split()[0] for part in result.stderr.replace("\r", "\n").split()
             if part.startswith("time=")]
    if result.returncode != 0 or not times or "Audio:" not in result.stderr:
        raise BadRecording("this file is not a sound recording that can be read")
    hours, minutes, seconds = times[-1].split(":")
    total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if total <= 0.2:
        raise BadRecording("the recording is empty")
    return total


def _run(command: list[str], failure: Exception | None = None) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT)
    except FileNotFoundError:
        raise NoSpeech(f"{command[0]} is not installed; ./run.sh installs it") from None
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise (failure or NoSpeech(f"{command[0]} failed: {getattr(exc, 'stderr', b'') or exc}")) from None
