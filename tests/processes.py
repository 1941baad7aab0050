"""Real `python -m bot serve` processes for the replica and fault tests: started on free loopback ports with the
fakes (Slack's Web API, the Teams connector) running in the test process, waited for through /healthz, stopped
gently or with SIGKILL. Every wait has a deadline; nothing is timed with a fixed sleep."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlmodel import create_engine

from sqlalchemy.engine import make_url

from bot.store.db import database_url
from tests.fake_slack import FakeSlack
from tests.slack_world import SECRET, SlackWorld
from tests.teams_world import HEADS, SAFEGUARDING

ROOT = Path(__file__).resolve().parent.parent
STARTUP = 45.0  # seconds a server may take to answer /healthz (loading the policies takes a few on a busy CI box)
PUPIL = "A worrying post or message by or about a pupil"
SLACK_REPORT = [("dm", "help"), ("press", "Report an incident"), ("press", "No"), ("press", PUPIL),
                ("dm", "AB, Year 9"), ("dm", "AB posted that they feel unsafe at home"), ("dm", "today"),
                ("dm", "Instagram @ab"), ("dm", "AB, Year 9 pupil"), ("press", "Nothing yet"),
                ("dm", "Told nobody yet"), ("press", "Submit")]


def figure(what: str, seconds: float) -> None:
    """Print a measured time (shown with pytest -s; docs/operations.md records them)."""
    print(f"FIGURE {what}: {seconds:.2f} s")


def free_port() -> int:
    """A loopback port nobody is listening on (a server started on it right after nearly always gets it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def school_config(folder: Path) -> Path:
    """The embedded school configuration with the DSL and the Headteacher on Slack and Teams (as the in-process
    worlds have them), written as a BOT_CONFIG file."""
    raw = tomllib.loads(resources.files("bot").joinpath("config/school.toml").read_text(encoding="utf-8"))
    raw["leads"]["dsl"]["slack"] = {"users": ["UDSL"], "channel": "CSAFE"}
    raw["leads"]["dsl"]["teams"] = {"users": ["aad-DSL"], "channel": SAFEGUARDING}
    raw["leads"]["headteacher"]["slack"] = {"users": ["UHEAD"], "channel": "CHEAD"}
    raw["leads"]["headteacher"]["teams"] = {"users": ["aad-HEAD"], "channel": HEADS}
    path = folder / "school.toml"
    path.write_text(_toml(raw), encoding="utf-8")
    return path


def _toml(tables: dict[str, Any], prefix: str = "") -> str:
    """Just enough TOML for a configuration: a table whose values are all tables ([leads]) is written as its
    sub-tables ([leads.dsl]); any other table as key = value lines, with inline tables for dict values."""
    out: list[str] = []
    for name, table in tables.items():
        if table and all(isinstance(v, dict) for v in table.values()):
            out.append(_toml(table, f"{prefix}{name}."))
        else:
            out.append(f"[{prefix}{name}]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in table.items()))
    return "\n".join(out)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


class Server:
    """One `python -m bot serve` process; its output goes to a log file the test can read."""

    def __init__(self, name: str, folder: Path, env: dict[str, str]):
        self.name, self.folder, self.env = name, folder, env
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        """Start the process (not waiting for it: see `ready`)."""
        self.port = free_port()
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"--- start on port {self.port}\n")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    async def ready(self, timeout: float = STARTUP) -> "Server":
        """Wait until /healthz answers 200."""
        started = asyncio.get_running_loop().time()
        deadline = started + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if self.process is None or self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited while starting:\n{self.output()[-3000:]}")
                try:
                    async with http.get(f"{self.url}/healthz") as answer:
                        if answer.status == 200:
                            figure(f"{self.name} answering /healthz after start", asyncio.get_running_loop().time()
                                   - started)
                            return self
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"{self.name} did not answer /healthz in {timeout}s:\n"
                                         f"{self.output()[-3000:]}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, exactly as a crashed or OOM-killed replica."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within five seconds."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        """Everything the process has logged (every start of it)."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


@contextmanager
def servers(folder: Path, *, database: str, slack_api: str, names: tuple[str, ...] = ("a",),
            lease_seconds: float = 120, **extra: str) -> Iterator[list[Server]]:
    """Server processes on one database, all talking to the same fakes; stopped however the test ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "BOT_", "DATABASE"))}
    env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack_api,
               DATABASE_URL=database, BOT_CONFIG=str(school_config(folder)), BOT_DATA_DIR=str(folder / "data"),
               OUTBOX_LEASE_SECONDS=str(lease_seconds), PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT), **extra)
    started = [Server(name, folder, env) for name in names]
    try:
        yield started
    finally:
        for server in started:
            server.stop()


async def eventually(check: Callable[[], Any | Awaitable[Any]], what: str, timeout: float = 15.0,
                     every: float = 0.05) -> Any:
    """Wait until `check()` returns something truthy (awaiting it if need be), and return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)


@contextmanager
def own_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema on TEST_DATABASE_URL for several processes to share (the URL names it)."""
    base = database_url(os.environ["TEST_DATABASE_URL"], Path("."))
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def own_database() -> Iterator[tuple[str, str, Any]]:
    """A whole PostgreSQL database of its own on TEST_DATABASE_URL's server, for a test that cuts a database off
    (ALLOW_CONNECTIONS false, its backends terminated): never the shared one. Yields its URL, its name and an
    engine on the server's own database for doing the cutting."""
    base = make_url(database_url(os.environ["TEST_DATABASE_URL"], Path(".")))
    name = f"policy_fault_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False), name, admin
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


async def walk_slack(world: SlackWorld, user: str, steps: list[tuple[str, str]], urls: tuple[str, ...]) -> None:
    """One step at a time, as a person waits for each reply; step n goes to server n mod len(urls)."""
    for n, (how, what) in enumerate(steps):
        world.url = urls[n % len(urls)]
        before = len(world.fake.posted_to(f"D{user}"))
        response = await (world.press(user, what) if how == "press" else world.dm(user, what))
        assert response.status == 200
        await world.fake.wait_until(lambda: world.fake.posted_to(f"D{user}"), before + 1, timeout=15,
                                    what=f"the reply to {what!r} from {world.url}")


def outbox_posts(fake: FakeSlack, key: str) -> list:
    """The Slack posts of one outbox message (every outbox post carries its key as metadata)."""
    return [c for c in fake.of("chat.postMessage")
            if (c.args.get("metadata") or {}).get("event_payload", {}).get("key") == key]
