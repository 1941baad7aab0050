"""Where the bot finds its policies and data, from the environment with embedded defaults."""
from __future__ import annotations

import os
from pathlib import Path

from knowledge.library import BUNDLED_POLICIES

DEFAULT_CONTACT = "your Headteacher or Designated Safeguarding Lead"


def data_dir() -> Path:
    """The folder the bot keeps its own files in (`BOT_DATA_DIR`, default `./data`)."""
    return Path(os.environ.get("BOT_DATA_DIR", "data"))


def school_policies_dir() -> Path:
    """The folder a school drops its own policy documents into."""
    return data_dir() / "policies"


def policy_folders() -> list[Path]:
    """The folders the knowledge base reads: `BOT_POLICIES` (paths separated by the OS path separator), or
    else the bundled sample policies followed by the school's own folder."""
    configured = os.environ.get("BOT_POLICIES", "").strip()
    if configured:
        return [Path(p) for p in configured.split(os.pathsep) if p.strip()]
    return [BUNDLED_POLICIES, school_policies_dir()]


def contact() -> str:
    """Who staff are told to ask when the policy does not answer (`BOT_CONTACT`)."""
    return os.environ.get("BOT_CONTACT", "").strip() or DEFAULT_CONTACT


def database_url() -> str:
    """`DATABASE_URL`, or else a SQLite file in the data folder."""
    from bot.store.db import database_url as resolve

    return resolve(os.environ.get("DATABASE_URL", "").strip() or None, data_dir())


def config_path() -> Path | None:
    """The school configuration file (`BOT_CONFIG`); None means the embedded example."""
    configured = os.environ.get("BOT_CONFIG", "").strip()
    return Path(configured) if configured else None
