"""Alembic's entry point: run migrations on the connection the bot hands over (see bot.store.db.migrate)."""
from __future__ import annotations

from alembic import context

from bot.store import models  # noqa: F401 (registers the tables on the metadata)
from sqlmodel import SQLModel

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through the bot (python -m bot db upgrade), which supplies the database.")
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
