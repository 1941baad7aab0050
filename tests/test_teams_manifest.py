"""The Teams app package: a manifest Teams accepts, icons of the sizes it demands, and commands the bot understands.

The checks below are written from the manifest schema (v1.30, developer.microsoft.com/json-schemas/teams) and
Teams' documented limits, independently of bot/teams_manifest.py, so a mistake in either shows up here.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.answers import DECLINES
from bot.cli import main
from bot.conversation import Inbound
from bot.escalation import Person
from bot.store.drafts import load_draft
from bot.teams_manifest import PLACEHOLDER_ID, Details, build, problems
from dialogs.catalog import DIALOGS
from dialogs.replies import Choices, Quote, Text

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(str(resources.files("bot").joinpath("teams_app")))
DOCUMENTED = ROOT / "manifest" / "teams"
APP_ID = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
GUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$", re.I)

# What the schema requires, as (path, required keys); "bots[]" means each item of the list.
REQUIRED = [
    ((), ["manifestVersion", "version", "id", "developer", "name", "description", "icons", "accentColor"]),
    (("developer",), ["name", "websiteUrl", "privacyUrl", "termsOfUseUrl"]),
    (("name",), ["short"]),
    (("description",), ["short", "full"]),
    (("icons",), ["color", "outline"]),
]
# Length limits: the schema's, and for bot commands the ones Teams documents for the command menu.
LIMITS = {("developer", "name"): 32, ("name", "short"): 30, ("name", "full"): 100, ("description", "short"): 80,
          ("description", "full"): 4000}
TITLE, DESCRIPTION, PER_LIST = 32, 128, 10


def schema_problems(manifest: dict) -> list[str]:
    found = []
    for path, keys in REQUIRED:
        node = manifest
        for part in path:
            node = node[part]
        found += [f"{'.'.join(path + (k,))} missing" for k in keys if not node.get(k)]
    for (section, key), limit in LIMITS.items():
        if len(manifest[section].get(key, "")) > limit:
            found.append(f"{section}.{key} over {limit}")
    if not GUID.match(manifest["id"]):
        found.append("id is not a GUID")
    if not re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"]):
        found.append("version is not semver")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", manifest["accentColor"]):
        found.append("accentColor")
    if not all(manifest["developer"][k].startswith("https://") for k in ("websiteUrl", "privacyUrl", "termsOfUseUrl")):
        found.append("developer URLs must be https")
    assert len(manifest["bots"]) == 1, "one bot per app"
    for bot in manifest["bots"]:
        found += [f"bots[].{k} missing" for k in ("botId", "scopes") if not bot.get(k)]
        if not GUID.match(bot["botId"]):
            found.append("botId is not a GUID")
        assert len(bot.get("commandLists", [])) <= 3
        for commands in bot.get("commandLists", []):
            found += [f"commandLists[].{k} missing" for k in ("scopes", "commands") if not commands.get(k)]
            if len(commands["commands"]) > PER_LIST:
                found.append(f"over {PER_LIST} commands")
            for command in commands["commands"]:
                if not 0 < len(command["title"]) <= TITLE or len(command.get("description", "")) > DESCRIPTION:
                    found.append(f"command {command['title']!r} too long")
    return found


def read_png(data: bytes) -> tuple[int, int, int, list[list[tuple[int, ...]]]]:
    """Width, height, colour type and pixels of an 8-bit RGB or RGBA PNG (every filter type)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour_type in (2, 6)
    channels = 3 if colour_type == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytes(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        previous = bytes(line)
        rows.append([tuple(line[x:x + channels]) for x in range(0, stride, channels)])
    return width, height, colour_type, rows


@pytest.fixture(scope="module")
def template() -> dict:
    return json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))


def built(**details) -> tuple[zipfile.ZipFile, dict]:
    package = zipfile.ZipFile(io.BytesIO(build(Details(app_id=APP_ID, **details))))
    return package, json.loads(package.read("manifest.json"))


# ---- the template ----------------------------------------------------------------------------------------------
def test_the_template_is_a_current_manifest_with_every_required_field(template):
    assert schema_problems(template) == []
    version = template["manifestVersion"]
    assert tuple(map(int, version.split("."))) >= (1, 17)
    assert template["$schema"] == ("https://developer.microsoft.com/json-schemas/teams/"
                                   f"v{version}/MicrosoftTeams.schema.json")
    assert template["id"] == template["bots"][0]["botId"] == PLACEHOLDER_ID
    assert template["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_the_bot_talks_in_personal_chat_and_in_teams_with_a_command_list_for_each(template):
    bot = template["bots"][0]
    assert bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    lists = {tuple(c["scopes"]): [command["title"] for command in c["commands"]] for c in bot["commandLists"]}
    assert set(lists) == {("personal",), ("team",)}
    assert {"help", "my reports", "back", "restart", "cancel"} <= set(lists[("personal",)])
    assert "my reports" not in lists[("team",)]  # a channel is no place to list someone's reports


def test_the_documented_folder_is_the_packaged_one():
    """`manifest/teams/` (beside slack.yaml) links to the package data, so there is one copy of each file."""
    for name in ("manifest.json", "color.png", "outline.png"):
        assert (DOCUMENTED / name).read_bytes() == (PACKAGE / name).read_bytes()


# ---- the icons -------------------------------------------------------------------------------------------------
def test_the_colour_icon_is_192_square_and_the_outline_32_square_with_transparency():
    width, height, colour_type, _ = read_png((PACKAGE / "color.png").read_bytes())
    assert (width, height) == (192, 192) and colour_type in (2, 6)
    width, height, colour_type, _ = read_png((PACKAGE / "outline.png").read_bytes())
    assert (width, height, colour_type) == (32, 32, 6)


def test_the_outline_icon_is_white_on_transparent_only():
    rows = read_png((PACKAGE / "outline.png").read_bytes())[3]
    pixels = [p for row in rows for p in row]
    assert all(a == 0 or (r, g, b) == (255, 255, 255) for r, g, b, a in pixels)
    drawn = sum(a == 255 for *_, a in pixels)
    assert 0.1 < drawn / len(pixels) < 0.6  # a symbol, neither empty nor a filled square


def test_the_colour_icon_uses_the_accent_colour_as_its_background(template):
    rows = read_png((PACKAGE / "color.png").read_bytes())[3]
    accent = tuple(int(template["accentColor"][i:i + 2], 16) for i in (1, 3, 5))
    assert rows[0][0][:3] == rows[191][191][:3] == accent
    assert rows[96][60][:3] == (255, 255, 255)  # the shield, inside the middle 120×120 that survives cropping


def test_the_icons_are_what_make_icons_draws():
    spec = importlib.util.spec_from_file_location("make_icons", PACKAGE / "make_icons.py")
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)
    assert read_png(make_icons.png(make_icons.color_icon()))[3] == read_png((PACKAGE / "color.png").read_bytes())[3]
    assert read_png(make_icons.png(make_icons.outline_icon()))[3] == \
        read_png((PACKAGE / "outline.png").read_bytes())[3]


# ---- the package -----------------------------------------------------------------------------------------------
def test_the_package_has_exactly_the_three_files_at_its_root_with_the_app_id_filled_in():
    package, manifest = built(school="St Aidan's CE Academy", domain="bot.staidans.sch.uk")
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert package.testzip() is None
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert schema_problems(manifest) == [] and problems(manifest) == []
    assert manifest["name"]["full"] == "Policy Assistant for St Aidan's CE Academy"
    assert manifest["developer"]["name"] == "St Aidan's CE Academy"
    assert "St Aidan's CE Academy's social media" in manifest["description"]["full"]
    assert "${" not in json.dumps(manifest)
    assert manifest["validDomains"] == ["bot.staidans.sch.uk"]
    assert package.read("color.png") == (PACKAGE / "color.png").read_bytes()
    assert package.read("outline.png") == (PACKAGE / "outline.png").read_bytes()


def test_a_long_school_name_is_fitted_to_the_limits():
    name = "The Blessed Cardinal Newman Catholic Primary School and Nursery of Saint Mary Magdalene, Little Snoring"
    _, manifest = built(school=name)
    assert schema_problems(manifest) == []
    assert manifest["developer"]["name"].endswith("…") and len(manifest["developer"]["name"]) <= 32
    assert manifest["name"]["full"] == "Policy Assistant"


def test_the_same_details_make_the_same_zip():
    assert build(Details(app_id=APP_ID)) == build(Details(app_id=APP_ID))


def test_problems_are_found_before_teams_finds_them(template):
    broken = json.loads(json.dumps(template))
    broken["id"] = "not-a-guid"
    broken["bots"][0]["commandLists"][0]["commands"][0]["title"] = "x" * 33
    broken["bots"][0]["commandLists"][0]["commands"] *= 2
    del broken["developer"]["privacyUrl"]
    found = " ".join(problems(broken))
    for expected in ("id is not a GUID", "over 32 characters", "more than 10 commands", "developer.privacyUrl"):
        assert expected in found


# ---- the command line ------------------------------------------------------------------------------------------
@pytest.fixture
def school_config(tmp_path, monkeypatch) -> Path:
    text = resources.files("bot").joinpath("config/school.toml").read_text(encoding="utf-8")
    path = tmp_path / "school.toml"
    path.write_text(text.replace('name = "Example School"', 'name = "Oakfield Primary School"', 1), encoding="utf-8")
    monkeypatch.setenv("BOT_CONFIG", str(path))
    return path


def test_the_command_writes_the_package_for_the_configured_school(school_config, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID.upper())
    out = tmp_path / "out" / "teams.zip"
    assert main(["manifest", "teams", "--out", str(out), "--website", "https://www.oakfield.sch.uk/",
                 "--bot-domain", "https://bot.oakfield.sch.uk/api/messages", "--app-version", "1.0.3"]) == 0
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["id"] == APP_ID and manifest["version"] == "1.0.3"
    assert manifest["name"]["full"] == "Policy Assistant for Oakfield Primary School"
    developer = manifest["developer"]
    assert developer["privacyUrl"] == developer["termsOfUseUrl"] == "https://www.oakfield.sch.uk/"
    assert manifest["validDomains"] == ["bot.oakfield.sch.uk"]
    assert str(out) in capsys.readouterr().out


@pytest.mark.parametrize("argv, says", [
    ([], "MICROSOFT_APP_ID"),
    (["--app-id", "1b2c3d4e-5f60-4a7b-8c9d"], "not a Microsoft app id"),
    (["--app-id", PLACEHOLDER_ID], "not a Microsoft app id"),
    (["--app-id", APP_ID, "--website", "http://www.oakfield.sch.uk/"], "https://"),
    (["--app-id", APP_ID, "--bot-domain", "not a host"], "not a host name"),
    (["--app-id", APP_ID, "--app-version", "2"], "MAJOR.MINOR.PATCH"),
])
def test_a_missing_or_bad_app_id_is_refused_with_exit_2_and_no_file(argv, says, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    out = tmp_path / "teams.zip"
    assert main(["manifest", "teams", "--out", str(out), *argv]) == 2
    assert says in capsys.readouterr().err
    assert not out.exists()


def test_python_m_bot_manifest_teams_runs(tmp_path):
    out = tmp_path / "teams.zip"
    done = subprocess.run([sys.executable, "-m", "bot", "manifest", "teams", "--app-id", APP_ID, "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**{k: v for k, v in os.environ.items() if k not in ("MICROSOFT_APP_ID", "BOT_CONFIG")},
                               "BOT_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "--website" in done.stderr  # the example links are pointed out
    assert sorted(zipfile.ZipFile(out).namelist()) == ["color.png", "manifest.json", "outline.png"]


# ---- the commands mean something to the bot -------------------------------------------------------------------
def test_every_command_in_the_menu_is_understood_by_the_core(core, template):
    titles = {command["title"] for commands in template["bots"][0]["commandLists"] for command in commands["commands"]}
    started = set()
    for i, title in enumerate(sorted(titles)):
        replies = core.handle(Inbound(Person("teams", "tenant", f"user{i}", "Staff"), "personal", text=title))
        said = " ".join(r.text for r in replies if isinstance(r, Text))
        assert replies and not any(decline in said for decline in DECLINES.values()), (title, said)
        assert "don't know" not in said and "didn't understand" not in said, (title, said)
        assert any(isinstance(r, (Quote, Choices)) for r in replies) or said, title
        offers = [r for r in replies if isinstance(r, Choices) and any("decline" in o.value for o in r.options)]
        started |= {o.value["start"] for r in offers for o in r.options if "start" in o.value}
        with Session(core.db) as session:  # or the command started the form straight away
            draft = load_draft(session, platform="teams", workspace="tenant", user_id=f"user{i}")
            started |= {draft.dialog} if draft else set()
        if title.endswith("?"):
            assert any(isinstance(r, Quote) for r in replies), f"{title!r} is a question the policy answers"
    assert started == set(DIALOGS)  # each guided dialog is started or offered by a command of its own
