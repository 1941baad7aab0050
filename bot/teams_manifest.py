"""The Teams app package: `python -m bot manifest teams` fills in the app id and zips the manifest with its icons.

The template and icons are package data in `bot/teams_app/` (so an installed wheel has them too);
`manifest/teams/` in the repository is a link to that folder, beside the Slack manifest. The school's name
comes from its configuration (`BOT_CONFIG`). What Teams checks on upload (required fields, lengths, a GUID
for the app id) is checked here first, so a mistake is reported before an administrator sees Teams refuse it.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import struct
import sys
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FILES = ("manifest.json", "color.png", "outline.png")
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"
SCHOOL_NAME = "${SCHOOL_NAME}"
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
DOMAIN = re.compile(r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

# The manifest's fields with a length limit: the schema's, and for bot commands the tighter ones Teams shows.
LIMITS = {("developer", "name"): 32, ("name", "short"): 30, ("name", "full"): 100, ("description", "short"): 80,
          ("description", "full"): 4000}
COMMAND_TITLE, COMMAND_DESCRIPTION, COMMANDS_PER_LIST = 32, 128, 10
ICON_SIZES = {"color": 192, "outline": 32}


class ManifestError(ValueError):
    """The app package cannot be built; the message says why."""


@dataclass(frozen=True)
class Details:
    """What the school fills in."""

    app_id: str
    school: str = "Example School"
    website: str = ""
    privacy: str = ""
    terms: str = ""
    domain: str = ""
    version: str = ""


def template_files() -> dict[str, bytes]:
    """The template manifest and the two icons, as shipped in the package."""
    folder = resources.files("bot").joinpath("teams_app")
    return {name: folder.joinpath(name).read_bytes() for name in FILES}


def app_id(value: str) -> str:
    """A Microsoft app id (a GUID), in lower case; ManifestError when it is missing or is not one."""
    value = value.strip().strip("{}")
    if not value:
        raise ManifestError("Give the bot's Microsoft app id: --app-id GUID, or set MICROSOFT_APP_ID. It is the "
                            "Application (client) ID of the bot's app registration in Azure.")
    if not GUID.match(value) or value == PLACEHOLDER_ID:
        raise ManifestError(f"{value!r} is not a Microsoft app id: it should be a GUID like "
                            "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d, the bot registration's Application (client) ID.")
    return value.lower()


def domain(value: str) -> str:
    """The bot's public host name, from a host or a URL."""
    host = (urlsplit(value).hostname or "") if "://" in value else value.strip().rstrip("/")
    if not DOMAIN.match(host):
        raise ManifestError(f"{value!r} is not a host name; give the bot's public host, e.g. bot.example.sch.uk.")
    return host.lower()


def _fit(text: str, limit: int) -> str:
    """Text cut at a word to fit a length limit, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut + "…"


def fill(template: dict[str, Any], details: Details) -> dict[str, Any]:
    """The template with the app id, the school's name and its links filled in."""
    manifest = json.loads(json.dumps(template))
    for section, key in LIMITS:
        text = manifest[section].get(key)
        if isinstance(text, str) and SCHOOL_NAME in text:
            whole = text.replace(SCHOOL_NAME, details.school)
            if len(whole) > LIMITS[section, key] and section == "name":
                whole = manifest["name"]["short"]
            manifest[section][key] = _fit(whole, LIMITS[section, key])
    manifest["id"] = details.app_id
    for bot in manifest.get("bots", []):
        bot["botId"] = details.app_id
    website = details.website or manifest["developer"]["websiteUrl"]
    manifest["developer"].update(websiteUrl=website, privacyUrl=details.privacy or website,
                                 termsOfUseUrl=details.terms or details.privacy or website)
    if details.domain and details.domain not in manifest["validDomains"]:
        manifest["validDomains"].append(details.domain)
    if details.version:
        manifest["version"] = details.version
    return manifest


def png_header(data: bytes) -> tuple[int, int, int]:
    """A PNG's width, height and colour type, from its IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ManifestError("not a PNG file")
    width, height, _depth, colour_type = struct.unpack(">IIBB", data[16:26])
    return width, height, colour_type


def problems(manifest: dict[str, Any], files: dict[str, bytes] | None = None) -> list[str]:
    """What Teams would refuse in a manifest (and its icons, when given); empty when it is fine."""
    found = [f"missing {key}" for key in ("manifestVersion", "version", "id", "developer", "name", "description",
                                          "icons", "accentColor") if key not in manifest]
    if found:
        return found
    if not GUID.match(str(manifest["id"])):
        found.append("id is not a GUID")
    if not SEMVER.match(str(manifest["version"])):
        found.append("version is not MAJOR.MINOR.PATCH")
    if not HEX_COLOUR.match(str(manifest["accentColor"])):
        found.append("accentColor is not #RRGGBB")
    if not str(manifest.get("$schema", "")).endswith(f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json"):
        found.append("$schema does not match manifestVersion")
    for key in ("name", "websiteUrl", "privacyUrl", "termsOfUseUrl"):
        value = manifest["developer"].get(key)
        if not value:
            found.append(f"missing developer.{key}")
        elif key != "name" and not str(value).startswith("https://"):
            found.append(f"developer.{key} is not an https URL")
    for section, keys in (("name", ("short",)), ("description", ("short", "full")), ("icons", ("color", "outline"))):
        found += [f"missing {section}.{key}" for key in keys if not manifest[section].get(key)]
    for (section, key), limit in LIMITS.items():
        if len(manifest[section].get(key, "")) > limit:
            found.append(f"{section}.{key} is longer than {limit} characters")
    for bot in manifest.get("bots", []):
        if not GUID.match(str(bot.get("botId", ""))):
            found.append("bots[].botId is not a GUID")
        for commands in bot.get("commandLists", []):
            if not set(commands["scopes"]) <= set(bot["scopes"]):
                found.append(f"a command list's scopes {commands['scopes']} are not all the bot's")
            if len(commands["commands"]) > COMMANDS_PER_LIST:
                found.append(f"more than {COMMANDS_PER_LIST} commands for {commands['scopes']}")
            for command in commands["commands"]:
                if not 0 < len(command["title"]) <= COMMAND_TITLE:
                    found.append(f"command title {command['title']!r} is empty or over {COMMAND_TITLE} characters")
                if len(command.get("description", "")) > COMMAND_DESCRIPTION:
                    found.append(f"command {command['title']!r}: description over {COMMAND_DESCRIPTION} characters")
    for host in manifest.get("validDomains", []):
        if "://" in host or "/" in host:
            found.append(f"validDomains entry {host!r} should be a host name only")
    if files is not None:
        for kind, size in ICON_SIZES.items():
            name = manifest["icons"][kind]
            if name not in files:
                found.append(f"icon {name} is not in the package")
                continue
            width, height, colour_type = png_header(files[name])
            if (width, height) != (size, size):
                found.append(f"{name} is {width}×{height}, not {size}×{size}")
            if kind == "outline" and colour_type != 6:
                found.append(f"{name} has no alpha channel; the outline icon must be white on transparent")
    return found


def build(details: Details) -> bytes:
    """The app package: a zip with manifest.json, color.png and outline.png at its root."""
    files = template_files()
    manifest = fill(json.loads(files["manifest.json"]), details)
    found = problems(manifest, files)
    if manifest["id"] == PLACEHOLDER_ID:
        found.append("the app id is still the placeholder")
    if found:
        raise ManifestError("The Teams manifest would be refused: " + "; ".join(found) + ".")
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name in FILES:  # fixed dates, so the same input makes the same zip
            package.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), files[name],
                             compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def cmd_manifest_teams(args: argparse.Namespace) -> int:
    """`python -m bot manifest teams`: write the Teams app package for upload."""
    from bot import settings
    from bot.school import load_config

    try:
        details = Details(app_id=app_id(args.app_id if args.app_id is not None else
                                        os.environ.get("MICROSOFT_APP_ID", "")),
                          school=load_config(settings.config_path()).school.name,
                          website=args.website or "", privacy=args.privacy_url or "", terms=args.terms_url or "",
                          domain=domain(args.bot_domain) if args.bot_domain else "",
                          version=args.app_version or "")
        for url in (details.website, details.privacy, details.terms):
            if url and not url.startswith("https://"):
                raise ManifestError(f"{url!r}: Teams needs https:// links.")
        if details.version and not SEMVER.match(details.version):
            raise ManifestError(f"--app-version {details.version!r}: give MAJOR.MINOR.PATCH, e.g. 1.0.1.")
        package = build(details)
    except ManifestError as problem:
        print(problem, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(package)
    print(f"Wrote {out} for app id {details.app_id} ({details.school}). Upload it in the Teams admin centre "
          "(Teams apps > Manage apps > Upload new app) or in Teams (Apps > Manage your apps > Upload an app).")
    if not details.website:
        print("Note: the app's links point at www.example.sch.uk; give --website (and --privacy-url) for your "
              "school's pages.", file=sys.stderr)
    return 0
