"""Replicas starting at the same moment on one database: every process migrates at start, and they take turns
(an advisory lock on PostgreSQL, SQLite's write lock), so none fails and the schema is applied once."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import inspect, text

from bot.store.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
START_TOGETHER = """
import sys, time
from bot.store.db import open_database
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
open_database(sys.argv[1]).dispose()
"""


def test_processes_starting_together_on_an_empty_database_all_start(db_url):
    at = time.time() + 2.5  # each process imports first, then all open the database at this moment
    processes = [subprocess.Popen([sys.executable, "-c", START_TOGETHER, db_url, str(at)], cwd=ROOT,
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
    failures = [p.stderr.read()[-500:] for p in processes if p.wait(timeout=120) != 0]
    assert failures == []
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert len(connection.execute(text("SELECT version_num FROM alembic_version")).all()) == 1
    assert {"report", "report_event", "outbox", "dialog_draft"} <= set(inspect(engine).get_table_names())
    engine.dispose()
