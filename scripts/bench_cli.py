"""What the benchmark commands share: checked numeric options and quiet handlers."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than `minimum`, or a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def quiet_handlers() -> None:
    """The handlers run in-process; their INFO lines (one per rollout, onboarding and step)
    would bury the figures and break JSON on stdout. Warnings and errors still show."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
