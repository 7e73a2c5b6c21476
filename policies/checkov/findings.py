"""One result of one check on one resource, whichever tool produced it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["checkov", "custom"]


class GateInputError(ValueError):
    """A plan, a checkov report or the baseline cannot be read: the gate cannot judge."""


@dataclass(frozen=True)
class Finding:
    """``passed`` is False for a failure; ``detail`` says why, with the offending value."""

    check_id: str
    title: str
    resource: str
    passed: bool
    source: Source
    detail: str = ""
