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
