"""Shared fixtures: the bundled knowledge base is built once per test session (it is immutable)."""
from __future__ import annotations

import pytest

from knowledge.library import BUNDLED_POLICIES, find_policies, read_policy
from knowledge.search import KnowledgeBase


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The seven bundled sample policies, split, merged and indexed."""
    return KnowledgeBase.load()


@pytest.fixture(scope="session")
def split():
    """The clauses of each bundled policy, by policy id, before duplicates are merged."""
    return {p.id: read_policy(p)[1] for p in find_policies([BUNDLED_POLICIES])}


# ---- the conversation core on a real database ------------------------------------------------------------------
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import create_engine

from bot.conversation import Conversation
from bot.school import load_config
from bot.store.db import database_url, open_database
from tests.talk import Clock

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, and a PostgreSQL schema of its own when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    base = database_url(os.environ["TEST_DATABASE_URL"], tmp_path)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves by hand."""
    return Clock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))


@pytest.fixture
def db(db_url):
    """An engine on a migrated, empty database."""
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def core(kb, db, clock) -> Conversation:
    """The conversation core on the embedded school configuration (adopted policy: the model policy)."""
    return Conversation(kb=kb, db=db, config=load_config(), clock=clock)
