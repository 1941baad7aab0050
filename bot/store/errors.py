"""Telling "the database cannot be reached just now" apart from a bug, so callers can answer kindly and carry on.

A connection refused or cut, a database not accepting connections, a pool with no connection to give, SQLite's
"database is locked": all pass by themselves, and the transaction they interrupted was rolled back whole.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)


def unavailable(error: BaseException) -> bool:
    """Whether an exception means the database is (for now) out of reach, rather than a mistake in a query."""
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


@contextlib.contextmanager
def unless_unavailable() -> Iterator[None]:
    """Skip the rest of the block when the database cannot be reached (logged, without the query's values);
    any other error goes on up. For lookups that only refine an answer the core gives anyway."""
    try:
        yield
    except SQLAlchemyError as failure:
        if not unavailable(failure):
            raise
        log.warning("a lookup was skipped: the database is unavailable (%s)", type(failure).__name__)
