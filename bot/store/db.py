"""The one place the database engine is made and its schema brought up to date (Alembic migrations)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import create_engine

T = TypeVar("T")


def utcnow() -> datetime:
    """Now, in UTC (every timestamp column holds an aware UTC time)."""
    return datetime.now(UTC)


def database_url(url: str | None, data_dir: Path) -> str:
    """The URL to use: the one given (DATABASE_URL), else a SQLite file in the data folder."""
    if url:
        if url.startswith("postgres://"):  # what some hosts hand out; SQLAlchemy wants the full scheme name
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'bot.sqlite3'}"


def make_engine(url: str) -> Engine:
    """An engine for the URL. SQLite gets WAL, a busy timeout and foreign keys, so several threads can share it.

    Errors never quote a statement's values (hide_parameters): they can hold what a reporter typed, and errors
    end up in logs.
    """
    if url.startswith("sqlite"):
        # One connection per process: SQLite writes one transaction at a time anyway, and threads queueing for
        # the pool wake the moment it is free, where threads contending for SQLite's lock back off in sleeps of up
        # to 100 ms (the acks' p99 showed it). Several processes on one database are PostgreSQL's job.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=1,
                               max_overflow=0, pool_timeout=60, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
            cursor = connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL still survives the process being killed at any point (kill -9 included); only
                # an operating-system crash or power cut can lose the last commits. FULL would wait for the disk
                # on every commit, which capped a Slack DM at two disk flushes. Deployments that must survive
                # power loss run on PostgreSQL.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A database that does not answer is given up on after 5 s (the bot then says so), not the OS's two minutes.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True,
                         connect_args={"connect_timeout": 5})


async def blocking(engine: Engine, work: Callable[..., T], *args: Any) -> T:
    """Run database work from an event loop. On PostgreSQL it runs in a thread, so the loop goes on while it
    waits for the network. On SQLite it runs on the loop itself: a local file and one connection per process
    leave nothing to wait for, and a thread only added hand-offs of the GIL at every database call, costing more
    than a conversation turn's own work (about 1.3 ms a Slack event; bench/slack_ack.py)."""
    if engine.dialect.name == "sqlite":
        return work(*args)
    return await asyncio.to_thread(work, *args)


def connections(engine: Engine) -> int:
    """How many connections the engine's pool hands out at most at once."""
    pool = engine.pool
    size = pool.size() if hasattr(pool, "size") else 1
    return max(1, size + max(0, getattr(pool, "_max_overflow", 0)))


def migrate(engine: Engine) -> None:
    """Apply every migration not yet applied (safe to call on every start, by several processes at once; a no-op
    when up to date). On either database the migrations run in one transaction: all applied, or none."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("bot.store").joinpath("migrations")))
    with engine.begin() as connection:
        _take_turns(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


MIGRATION_LOCK = 7_310_486_219_500_001  # a number every process of the bot agrees on (PostgreSQL advisory locks)


def _take_turns(connection: Connection) -> None:
    """Processes starting at once on one database migrate one after another: the first brings the schema up to
    date, the others wait for its transaction, then find nothing to do. Without this, replicas starting together
    on an empty database fail with "already exists"."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, waiting (busy timeout) for another's


def open_database(url: str) -> Engine:
    """An engine on an up-to-date schema."""
    engine = make_engine(url)
    migrate(engine)
    return engine
