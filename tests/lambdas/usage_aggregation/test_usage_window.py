"""Which day an event aggregates, whatever the host's time zone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from lambdas.usage_aggregation.log_files import day_prefix
from lambdas.usage_aggregation.report import report_key
from lambdas.usage_aggregation.window import InvalidEventError, day_window, usage_day

from .support import event

NOW = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
SCHEDULED = event("scheduled_event.json")


@pytest.fixture(params=["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"])
def host_time_zone(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Runs the test with the process time zone set far from UTC (+14, -11, +5:45)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_window_scheduled_event_aggregates_the_previous_utc_day(host_time_zone: str) -> None:
    assert usage_day(event("scheduled_event.json"), NOW) == date(2026, 11, 30), host_time_zone


@pytest.mark.parametrize(
    ("case", "moment", "day"),
    [
        ("first-microsecond", "2026-12-01T00:00:00Z", date(2026, 11, 30)),
        ("last-second", "2026-12-01T23:59:59Z", date(2026, 11, 30)),
        ("offset-ahead-of-utc", "2026-12-01T10:00:00+14:00", date(2026, 11, 29)),
        ("offset-behind-utc", "2026-11-30T20:00:00-11:00", date(2026, 11, 30)),
        ("year-boundary", "2027-01-01T00:05:00Z", date(2026, 12, 31)),
        ("leap-day", "2028-03-01T00:05:00Z", date(2028, 2, 29)),
    ],
)
def test_window_scheduled_event_time_is_read_in_utc(
    case: str, moment: str, day: date, host_time_zone: str
) -> None:
    scheduled = {**event("scheduled_event.json"), "time": moment}
    fired = datetime.fromisoformat(moment)  # the function runs when the rule fires

    assert usage_day(scheduled, fired) == day, (case, host_time_zone)


def test_window_backfill_event_names_the_day(host_time_zone: str) -> None:
    assert usage_day(event("backfill_event.json"), NOW) == date(2026, 11, 30), host_time_zone


def test_window_day_window_is_half_open_in_utc(host_time_zone: str) -> None:
    start, end = day_window(date(2026, 11, 30))

    assert start == datetime(2026, 11, 30, tzinfo=UTC), host_time_zone
    assert end == datetime(2026, 12, 1, tzinfo=UTC), host_time_zone
    assert (end - start).total_seconds() == 86_400


def test_window_backfill_of_the_last_complete_day_in_a_far_time_zone(host_time_zone: str) -> None:
    # 2026-12-03 13:00 UTC is already 2026-12-04 in Kiritimati: 2026-12-02 is still the last
    # complete UTC day, and 2026-12-03 is not over.
    assert usage_day({"date": "2026-12-02"}, NOW) == date(2026, 12, 2)
    with pytest.raises(InvalidEventError, match="before 2026-12-03"):
        usage_day({"date": "2026-12-03"}, NOW)


@pytest.mark.parametrize(
    ("case", "received", "message"),
    [
        (
            "day-first",
            event("invalid_date_event.json"),
            r"'date' must be a string formatted YYYY-MM-DD, got '30/11/2026'",
        ),
        ("compact", {"date": "20261130"}, r"'date' must be a string formatted YYYY-MM-DD"),
        (
            "not-a-string",
            {"date": 20261130},
            r"'date' must be a string formatted YYYY-MM-DD, got 20261130",
        ),
        ("with-time", {"date": "2026-11-30T00:00:00Z"}, r"'date' must be a string"),
        (
            "no-such-day",
            {"date": "2026-11-31"},
            r"'date' must be a calendar day formatted YYYY-MM-DD",
        ),
        ("month-13", {"date": "2026-13-01"}, r"'date' must be a calendar day"),
        ("future", {"date": "2027-01-01"}, r"'date' must be a UTC day that is over"),
        (
            "scheduled-without-time",
            {**SCHEDULED, "time": None},
            r"'time' of a scheduled event",
        ),
        ("naive-time", {**SCHEDULED, "time": "2026-12-01T00:05:00"}, r"UTC offset or Z"),
        (
            "bad-time",
            {**SCHEDULED, "time": "yesterday"},
            r"'time' of a scheduled event must be an RFC 3339",
        ),
        (
            "future-time",
            {**SCHEDULED, "time": "2099-01-01T00:30:00Z"},
            r"'time' of a scheduled event must not be in the future \(now 2026-12-03T13:00:00Z\)",
        ),
        (
            "time-of-the-first-day",
            {**SCHEDULED, "time": "0001-01-01T00:30:00Z"},
            r"'time' of a scheduled event has no day before it",
        ),
        (
            "other-source",
            {**SCHEDULED, "source": "evil"},
            r"'source' of a scheduled event must be 'aws.events' .*, got 'evil'",
        ),
        (
            "time-without-detail-type",
            {"time": "2026-12-01T00:05:00Z", "source": "aws.events"},
            r"'detail-type' of a scheduled event must be 'Scheduled Event'.*, got None",
        ),
        ("empty", {}, r"event must be \{\"date\": \"YYYY-MM-DD\"\} or an EventBridge"),
        ("not-an-object", ["2026-11-30"], r"event must be an object"),
        (
            "extra-field",
            {"date": "2026-11-30", "dry_run": True},
            r"holds only \['date', 'allow_empty'\]; unknown fields: \['dry_run'\]",
        ),
        (
            "allow-empty-not-bool",
            {"date": "2026-11-30", "allow_empty": "yes"},
            r"'allow_empty' must be true or false, got 'yes'",
        ),
    ],
)
def test_window_invalid_events_name_the_field_and_the_format(
    case: str, received: object, message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message):
        usage_day(received, NOW)


@pytest.mark.parametrize(
    ("case", "day", "report", "logs"),
    [
        ("this-century", date(2026, 12, 2), "reports/usage/2026/12/02.csv", "2026/12/02/"),
        ("year-one", date(1, 1, 1), "reports/usage/0001/01/01.csv", "0001/01/01/"),
        ("three-digit-year", date(999, 3, 4), "reports/usage/0999/03/04.csv", "0999/03/04/"),
    ],
)
def test_report_and_log_folders_have_four_digit_years(
    case: str, day: date, report: str, logs: str
) -> None:
    assert report_key(day) == report, case
    assert day_prefix("", "111122223333", "eu-west-1", day) == (
        f"AWSLogs/111122223333/elasticloadbalancing/eu-west-1/{logs}"
    )
