"""Meta-tests that keep the code, the docs and the catalogues in step."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from server import settings

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for folder in ("server", "print", "ivr", "kiosk", "tests", "bench", "scripts")
           for p in (ROOT / folder).rglob("*.py")]


def test_no_module_rebinds_the_builtin_print():
    bad = [f"{p.relative_to(ROOT)}:{n}" for p in SOURCES
           for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if re.match(r"\s*import print(\.|\s|$)", line)]
    assert bad == [], "write `from print.x import y`, never `import print.x`"


def test_every_setting_is_documented():
    docs = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [s.name for s in settings.SETTINGS if f"`{s.name}`" not in docs] == []


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./run.sh demo" in readme and "./run.sh test" in readme
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set "))]
    assert ci == ["./run.sh test"]


def _key(value):
    """Catalogue ids and strings: text, or (singular, plural) for messages with plural forms."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_every_message_is_translated_and_compiled():
    method_map = [("server/**.py", "python"), ("print/**.py", "python"), ("ivr/**.py", "python"),
                  ("kiosk/**.py", "python"), ("server/templates/**.html", "jinja2"), ("kiosk/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "n_": (1, 2)}
    wanted = {m[2] for m in extract_from_dir(str(ROOT), method_map, keywords=keywords)}
    for locale in ("zh_Hans", "zh_Hant"):
        folder = ROOT / "server" / "translations" / locale / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as f:
            po = {_key(m.id): _key(m.string) for m in read_po(f) if m.id}
        with (folder / "messages.mo").open("rb") as f:
            mo = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
        translated = {k for k, v in po.items() if v and (not isinstance(v, tuple) or all(v))}
        assert sorted(map(str, wanted - translated)) == [], f"untranslated in {locale}"
        assert mo == po, f"{locale}: run `pybabel compile -d server/translations`"


def test_every_phone_prompt_is_said_in_spoken_cantonese():
    """The phone line's prompts (domain 'spoken', locale yue): Cantonese as it is said, not as written."""
    keywords = {"_": None, "n_": (1, 2)}
    wanted = {m[2] for m in extract_from_dir(str(ROOT / "ivr"), [("voice.py", "python")], keywords=keywords)}
    folder = ROOT / "server" / "translations" / "yue" / "LC_MESSAGES"
    with (folder / "spoken.po").open("rb") as f:
        po = {_key(m.id): _key(m.string) for m in read_po(f) if m.id}
    with (folder / "spoken.mo").open("rb") as f:
        mo = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    translated = {k for k, v in po.items() if v and (not isinstance(v, tuple) or all(v))}
    assert sorted(map(str, wanted - translated)) == [], "run scripts/translations.py and fill yue/spoken.po"
    assert mo == po
    spoken = " ".join(v if isinstance(v, str) else v[0] for v in po.values())
    assert "撳" in spoken and "按" not in spoken  # "press" as Cantonese speakers say it, not the written 按


def test_package_data_ships_templates_and_catalogues(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    assert "server/templates/base.html" in names and "server/static/style.css" in names
    assert "server/translations/zh_Hant/LC_MESSAGES/messages.mo" in names
    assert {"print/__init__.py", "ivr/__init__.py", "kiosk/__init__.py"} <= set(names)


def test_installed_from_a_wheel_the_database_is_not_inside_site_packages(monkeypatch, tmp_path):
    from server import db as database

    monkeypatch.delenv("PAPERBRIDGE_INSTANCE", raising=False)
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(database, "__file__", str(tmp_path / "site-packages" / "server" / "db.py"))
    assert database.resolve_path() == tmp_path / "data" / "paperbridge" / "paperbridge.db"


def test_every_third_party_module_imported_is_declared():
    import ast
    import tomllib

    distribution_of = {"flask": "flask", "flask_babel": "flask-babel", "flask_wtf": "flask-wtf",
                       "sqlite_utils": "sqlite-utils", "click": "click", "waitress": "waitress",
                       "reportlab": "reportlab", "qrcode": "qrcode", "pyzbar": "pyzbar", "zxingcpp": "zxing-cpp",
                       "pypdfium2": "pypdfium2", "PIL": "pillow", "numpy": "numpy", "cv2": "opencv-python-headless",
                       "twilio": "twilio", "phonenumbers": "phonenumbers", "openpyxl": "openpyxl", "pygal": "pygal",
                       "babel": "babel", "werkzeug": "werkzeug", "itsdangerous": "itsdangerous",
                       "charset_normalizer": "charset-normalizer", "opencc": "opencc", "psycopg": "psycopg",
                       "psycopg_pool": "psycopg-pool"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    imported = set()
    for path in (p for folder in ("server", "print", "ivr", "kiosk") for p in (ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"server", "print", "ivr", "kiosk"}
    assert sorted(m for m in third_party if distribution_of.get(m) not in declared) == []
