"""The rollout's input, validated before any work:
`{"databases"?: [...], "dry_run"?: bool, "bootstrap"?: bool}`.

`bootstrap` omitted means "where the connection is the RDS master" (see bootstrap.py).

The event is checked against a JSON Schema by Powertools' validation utility (fastjsonschema
underneath) rather than a pydantic model: three fields do not need a model, and building one
cost about 150 ms of every cold start (pydantic's import and schema build), half the budget
of `handler_import_ms` in `make bench`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate

from lambdas.shared.databases import DATABASES

FIELDS = ("databases", "dry_run", "bootstrap")
EXPECTED = f'{{"databases"?: [{", ".join(DATABASES)}], "dry_run"?: bool, "bootstrap"?: bool}}'
EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "databases": {"type": "array", "minItems": 1, "items": {"enum": list(DATABASES)}},
        "dry_run": {"type": "boolean"},
        "bootstrap": {"type": ["boolean", "null"]},
    },
}


class InvalidEventError(ValueError):
    """The event does not match the contract; the message names the bad field and value."""


@dataclass(frozen=True)
class RolloutEvent:
    databases: tuple[str, ...] | None = None  # None: every database
    dry_run: bool = False
    bootstrap: bool | None = None


def _describe(error: SchemaValidationError) -> str:
    """`field = value: what is wrong`, with the schema's `data.` root taken off the path."""
    name = str(error.name or "data")
    field = name.removeprefix("data").lstrip(".") or "(event)"
    problem = str(error.validation_message or error.message).removeprefix(name).strip()
    if error.rule == "additionalProperties":
        given = error.value if isinstance(error.value, dict) else {}
        unknown = sorted(set(given) - set(FIELDS))
        return f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(FIELDS)}"
    if error.rule == "minItems":
        problem = "must name at least one database"
    return f"{field} = {error.value!r}: {problem}"


def parse_event(event: Any) -> RolloutEvent:
    """The validated event; `None` or `{}` means every database, for real.

    Only the first problem is named (fastjsonschema stops at the first), together with the
    whole contract, so one correction per attempt is never a guess.
    """
    payload = event if event is not None else {}
    try:
        validate(event=payload, schema=EVENT_SCHEMA)
    except SchemaValidationError as error:
        raise InvalidEventError(
            f"invalid rls rollout event: {_describe(error)} (expected {EXPECTED})"
        ) from error
    databases = payload.get("databases")
    return RolloutEvent(
        databases=tuple(dict.fromkeys(databases)) if databases is not None else None,
        dry_run=payload.get("dry_run", False),
        bootstrap=payload.get("bootstrap"),
    )
