"""Putting the bot together from its settings: the knowledge base, the database and the school's configuration."""
from __future__ import annotations

from pathlib import Path

from bot import settings
from bot.conversation import Conversation
from bot.school import ConfigError, load_config
from bot.store.db import open_database
from knowledge.search import KnowledgeBase


def build(policy_folders: list[Path] | None = None, database_url: str | None = None,
          config_path: Path | None = None) -> Conversation:
    """The conversation core, wired to the configured policies, database and school configuration."""
    config = load_config(config_path if config_path is not None else settings.config_path())
    kb = KnowledgeBase.load(policy_folders if policy_folders is not None else settings.policy_folders())
    if config.school.policy not in kb.policies:
        raise ConfigError(f"school.policy is '{config.school.policy}', which is not one of the policies: "
                          f"{', '.join(sorted(kb.policies))}")
    return Conversation(kb=kb, db=open_database(database_url or settings.database_url()), config=config)
