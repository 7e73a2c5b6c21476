"""The rollout's input, validated before any work:
`{"databases"?: [...], "dry_run"?: bool, "bootstrap"?: bool}`.

`bootstrap` omitted means "where the connection is the RDS master" (see bootstrap.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from lambdas.shared.databases import DATABASES


class InvalidEventError(ValueError):
    """The event does not match the contract; the message names each bad field and value."""


class RolloutEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    databases: tuple[str, ...] | None = Field(default=None, min_length=1)
    dry_run: StrictBool = False
    bootstrap: StrictBool | None = None

    @field_validator("databases")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in DATABASES]
        if unknown:
            raise ValueError(
                f"unknown database(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(DATABASES)}"
            )
        return tuple(dict.fromkeys(value))


def _describe(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(event)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("missing", "extra_forbidden"):
        return f"{field}: {message}"
    return f"{field} = {error['input']!r}: {message}"


def parse_event(event: Any) -> RolloutEvent:
    """The validated event; `None` or `{}` means every database, for real."""
    try:
        return RolloutEvent.model_validate(event if event is not None else {})
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise InvalidEventError(
            f"invalid rls rollout event: {problems} "
            f'(expected {{"databases"?: [{", ".join(DATABASES)}], "dry_run"?: bool, '
            f'"bootstrap"?: bool}})'
        ) from exc
