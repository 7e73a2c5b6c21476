"""Fixtures of the rollout tests: a scratch schema in crm and owner connections.

Every test changes only objects of its own scratch schema, so other tests and other sessions
sharing the server never see a tampered table.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lambdas.shared.databases import Access
from lambdas.shared.db import Database
from tests.isolation.coverage import Scratch, rollout, scratch_schema


@pytest.fixture
def scratch(platform_env: dict[str, str]) -> Iterator[Scratch]:
    """A scratch schema whose table and view the rollout has already covered once."""
    with scratch_schema(platform_env) as created:
        rollout(platform_env, [created.database])
        yield created


@pytest.fixture
def owner(platform_env: dict[str, str]) -> Iterator[Database]:
    """The crm owner, for tampering with scratch objects the way a person would by hand."""
    database = Database("crm", Access.OWNER, environ=platform_env)
    yield database
    database.close()


@pytest.fixture
def lambda_env(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The handler reads its settings from the process environment, as in AWS."""
    for key, value in platform_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "rls-rollout")
    return platform_env
