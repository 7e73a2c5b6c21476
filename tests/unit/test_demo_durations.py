"""How `make demo` prints the time of a step (scripts/demo.py)."""

from __future__ import annotations

import pytest

from scripts.demo import _duration


@pytest.mark.parametrize(
    ("case", "seconds", "shown"),
    [
        ("under-a-second", 0.04, "0.0 s"),
        ("seconds", 12.34, "12.3 s"),
        ("just-under-a-minute", 59.94, "59.9 s"),
        ("rounds-up-to-a-minute", 59.96, "1 min 00 s"),
        ("minute-and-seconds", 65.2, "1 min 05 s"),
        ("rounds-to-the-next-minute", 119.6, "2 min 00 s"),
        ("long", 3 * 60 + 59.4, "3 min 59 s"),
    ],
)
def test_demo_duration_never_shows_sixty_seconds(case: str, seconds: float, shown: str) -> None:
    assert _duration(seconds) == shown, case
