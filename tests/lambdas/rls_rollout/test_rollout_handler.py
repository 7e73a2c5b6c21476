"""The Lambda contract: event in, `{"tables_checked", "changes", "drift"}` out, bad events named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambdas.rls_rollout.event import InvalidEventError, parse_event
from lambdas.rls_rollout.handler import handler
from scripts.lambda_context import lambda_context

EVENTS = Path(__file__).parent / "events"


def event(name: str) -> Any:
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_handler_dry_run_returns_the_contract(lambda_env: dict[str, str]) -> None:
    result = handler(event("dry_run_crm"), lambda_context("rls-rollout"))

    assert set(result) == {"tables_checked", "changes", "drift"}
    assert result["tables_checked"] >= 10
    assert isinstance(result["changes"], list) and isinstance(result["drift"], list)


def test_empty_event_means_every_database_for_real() -> None:
    parsed = parse_event(event("all_databases"))

    assert (parsed.databases, parsed.dry_run) == (None, False)


@pytest.mark.parametrize(
    ("name", "field", "expected"),
    [
        pytest.param("unknown_database", "databases", "'billing'", id="unknown-database"),
        pytest.param("dry_run_not_bool", "dry_run", "must be boolean", id="dry-run-not-bool"),
        pytest.param("no_databases", "databases", "at least one", id="empty-database-list"),
        pytest.param("databases_not_list", "databases", "must be array", id="databases-not-a-list"),
        pytest.param("misspelled_field", "'database'", "unknown field", id="unknown-field"),
    ],
)
def test_invalid_event_is_rejected_naming_field_value_and_allowed(
    name: str, field: str, expected: str
) -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_event(event(name))

    message = str(raised.value)
    assert field in message and expected in message
    assert "core, crm, hr, accounting, inventory, affiliate" in message


def test_handler_rejects_an_invalid_event_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CRM_DB_DSN", raising=False)

    with pytest.raises(InvalidEventError, match="billing"):
        handler(event("unknown_database"), lambda_context("rls-rollout"))
