"""Which UTC day an invocation aggregates: the day before a scheduled event, or a given date."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_FORMAT = "YYYY-MM-DD"
# A backfill may replace a day's stored rows with none only when it says so (see job.py).
ALLOW_EMPTY = "allow_empty"
BACKFILL_FIELDS = ("date", ALLOW_EMPTY)
# What an EventBridge schedule rule sends (modules/platform_core.py); its 'time' is when the
# rule fired, which is never later than now by more than the clocks disagree.
SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event"}
SCHEDULE_CLOCK_SKEW = timedelta(minutes=5)


class InvalidEventError(ValueError):
    """The event names no day the job can aggregate; the message says which field and why."""


def day_path(day: date) -> str:
    """`YYYY/MM/DD`, as ALB names its log folders and the report is named, with a four-digit
    year for every year (`strftime("%Y")` writes the year 1 as `1` on Linux)."""
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def day_window(day: date) -> tuple[datetime, datetime]:
    """The half-open UTC window [start, end) of a day."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def usage_day(event: object, now: datetime | None = None) -> date:
    """The UTC day to aggregate.

    `{"date": "YYYY-MM-DD"}` names it (a backfill; it must be over by `now`; it may add
    `"allow_empty": true`, read by `allows_empty`); an EventBridge
    scheduled event means the full UTC day before its `time`. The host's time zone plays no
    part: every value is parsed and compared in UTC.
    """
    if not isinstance(event, Mapping):
        raise InvalidEventError(
            f'event must be an object: {{"date": "{DATE_FORMAT}"}} or an EventBridge '
            f"scheduled event, got {type(event).__name__}"
        )
    if "date" in event:
        unknown = sorted(str(key) for key in event if key not in BACKFILL_FIELDS)
        if unknown:
            raise InvalidEventError(
                f"a backfill event holds only {list(BACKFILL_FIELDS)}; unknown fields: {unknown}"
            )
        if not isinstance(event.get(ALLOW_EMPTY, False), bool):
            raise InvalidEventError(
                f"'{ALLOW_EMPTY}' must be true or false, got {event[ALLOW_EMPTY]!r}"
            )
        return _backfill_day(event["date"], now or datetime.now(UTC))
    if any(field in event for field in (*SCHEDULED_EVENT, "time")):
        for field, expected in SCHEDULED_EVENT.items():
            if event.get(field) != expected:
                raise InvalidEventError(
                    f"'{field}' of a scheduled event must be {expected!r} (an EventBridge "
                    f"schedule rule's event), got {event.get(field)!r}"
                )
        return _scheduled_day(event.get("time"), now or datetime.now(UTC))
    raise InvalidEventError(
        f'event must be {{"date": "{DATE_FORMAT}"}} or an EventBridge scheduled event with '
        f"'time', got keys {sorted(str(key) for key in event)}"
    )


def _backfill_day(value: object, now: datetime) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidEventError(f"'date' must be a string formatted {DATE_FORMAT}, got {value!r}")
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise InvalidEventError(
            f"'date' must be a calendar day formatted {DATE_FORMAT}, got {value!r}: {error}"
        ) from error
    today = now.astimezone(UTC).date()
    if day >= today:
        raise InvalidEventError(
            f"'date' must be a UTC day that is over (before {today.isoformat()}), got {value!r}"
        )
    return day


def _scheduled_day(value: object, now: datetime) -> date:
    if not isinstance(value, str):
        raise InvalidEventError(
            f"'time' of a scheduled event must be an RFC 3339 timestamp such as "
            f"2026-12-01T00:05:00Z, got {value!r}"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidEventError(
            f"'time' of a scheduled event must be an RFC 3339 timestamp such as "
            f"2026-12-01T00:05:00Z, got {value!r}"
        ) from error
    if moment.tzinfo is None:
        raise InvalidEventError(
            f"'time' of a scheduled event must carry a UTC offset or Z, got {value!r}"
        )
    at = moment.astimezone(UTC)
    if at > now + SCHEDULE_CLOCK_SKEW:
        raise InvalidEventError(
            f"'time' of a scheduled event must not be in the future (now {now:%Y-%m-%dT%H:%M:%SZ}),"
            f" got {value!r}"
        )
    if at.date() == date.min:
        raise InvalidEventError(f"'time' of a scheduled event has no day before it, got {value!r}")
    return at.date() - timedelta(days=1)


def allows_empty(event: Mapping[str, object]) -> bool:
    """Whether a (validated) backfill event lets a day with no sources replace stored rows."""
    return event.get(ALLOW_EMPTY) is True
