"""The ALB access log parser and attribution, on lines in memory."""

from __future__ import annotations

import gzip
import io
import logging
from datetime import date

import pytest

from lambdas.usage_aggregation import alb_logs
from lambdas.usage_aggregation.alb_logs import AlbUsage, gunzip_chunks, iter_line_batches

from .support import DOMAIN, TENANTS, alb_line, gz, sample_figures, sample_lines

DAY = date(2026, 11, 30)


def usage_of(lines: list[str], *, dedupe: bool = False, day: date = DAY) -> AlbUsage:
    usage = AlbUsage(day, DOMAIN, TENANTS, inactive_tenants=["umbrella"])
    usage.add_stream(io.BytesIO(gz(lines)), "test.log.gz", dedupe=dedupe)
    return usage


def table(usage: AlbUsage) -> dict[tuple[str, str], dict[str, int]]:
    figures: dict[tuple[str, str], dict[str, int]] = {}
    for tenant, app, metric, value in usage.rows():
        figures.setdefault((tenant, app), {})[metric] = value
    return figures


def test_alb_logs_sample_gives_the_documented_figures() -> None:
    expected = sample_figures()

    usage = usage_of(sample_lines())

    found = table(usage)
    assert {pair: {m: found[pair][m] for m in expected[pair]} for pair in found} == expected
    assert found[("acme", "crm")]["blocked"] == 1
    assert sum(values["blocked"] for values in found.values()) == 1
    summary = usage.summary.as_dict()
    assert summary["unattributed"] == {"apex": 1, "unknown_app": 1}
    assert summary["not_forwarded"] == 1
    assert summary["lines"] == summary["entries"] == 11
    assert summary["malformed_lines"] == 0


@pytest.mark.parametrize("kind", ["http", "https", "h2", "grpcs", "ws", "wss"])
def test_alb_logs_every_entry_type_is_counted(kind: str) -> None:
    usage = usage_of([alb_line(kind=kind, received="7", sent="9")])

    assert table(usage) == {
        ("acme", "crm"): {
            "requests": 1,
            "errors_5xx": 0,
            "bytes_in": 7,
            "bytes_out": 9,
            "blocked": 0,
        }
    }


def test_alb_logs_unknown_entry_type_is_malformed() -> None:
    usage = usage_of([alb_line(kind="quic"), alb_line()])

    assert usage.summary.malformed == 1
    assert table(usage)[("acme", "crm")]["requests"] == 1


@pytest.mark.parametrize(
    "appended",
    [
        pytest.param(' "new-field"', id="quoted"),
        pytest.param(" 42", id="bare"),
        pytest.param(' "a b \\"c\\"" - "-" 7', id="several-with-escapes"),
    ],
)
def test_alb_logs_fields_appended_to_every_line_are_ignored(appended: str) -> None:
    lines = [line + appended for line in sample_lines()]

    usage = usage_of(lines)

    assert table(usage) == table(usage_of(sample_lines()))
    assert usage.summary.malformed == 0


def test_alb_logs_escaped_quotes_and_spaces_in_quoted_fields() -> None:
    line = alb_line(
        user_agent='Mozilla/5.0 (X11; \\"quoted\\" agent) \\"',
        path='/hr/search?q=\\"a b\\"',
        received="11",
    )

    usage = usage_of([line])

    assert table(usage)[("acme", "hr")]["bytes_in"] == 11
    assert usage.summary.malformed == 0


def test_alb_logs_dash_values_are_missing_values() -> None:
    line = alb_line(elb_status="502", target_status="-", received="-", sent="-")

    usage = usage_of([line])

    assert table(usage)[("acme", "crm")] == {
        "requests": 1,
        "errors_5xx": 1,
        "bytes_in": 0,
        "bytes_out": 0,
        "blocked": 0,
    }


@pytest.mark.parametrize(
    ("case", "elb_status", "target_status", "errors"),
    [
        ("alb-generated-502", "502", "-", 1),
        ("target-503-passed-through", "503", "503", 1),
        ("gateway-timeout", "504", "-", 1),
        ("client-error", "404", "404", 0),
        ("success", "200", "200", 0),
    ],
)
def test_alb_logs_errors_5xx_follow_the_status_the_client_saw(
    case: str, elb_status: str, target_status: str, errors: int
) -> None:
    usage = usage_of([alb_line(elb_status=elb_status, target_status=target_status)])

    assert table(usage)[("acme", "crm")]["errors_5xx"] == errors, case


@pytest.mark.parametrize(
    ("case", "actions", "requests", "blocked"),
    [
        ("forwarded", "forward", 1, 0),
        ("authenticated-then-forwarded", "authenticate,forward", 1, 0),
        ("waf-allowed", "waf,forward", 1, 0),
        ("waf-blocked", "waf", 0, 1),
        ("waf-failed-open", "waf-failed,forward", 1, 0),
        ("waf-allowed-then-redirected", "waf,redirect", 0, 0),
        ("waf-failed-then-fixed-response", "waf-failed,fixed-response", 0, 0),
    ],
)
def test_alb_logs_forwarded_and_blocked_entries(
    case: str, actions: str, requests: int, blocked: int
) -> None:
    usage = usage_of([alb_line(actions=actions)])

    figures = table(usage).get(("acme", "crm"), {"requests": 0, "blocked": 0})
    assert (figures["requests"], figures["blocked"]) == (requests, blocked), case
    assert usage.summary.not_forwarded == (0 if requests or blocked else 1), case


@pytest.mark.parametrize("actions", ["redirect", "fixed-response", "authenticate"])
def test_alb_logs_entries_not_forwarded_are_summarized_not_counted(actions: str) -> None:
    usage = usage_of([alb_line(actions=actions)])

    assert usage.rows() == []
    assert usage.summary.not_forwarded == 1


@pytest.mark.parametrize(
    ("case", "host", "path", "reason"),
    [
        ("apex", DOMAIN, "/crm/x", "apex"),
        ("unknown-tenant", f"hooli.{DOMAIN}", "/crm/x", "unknown_tenant"),
        ("nested-label", f"www.acme.{DOMAIN}", "/crm/x", "unknown_tenant"),
        ("inactive-tenant", f"umbrella.{DOMAIN}", "/crm/x", "inactive_tenant"),
        (
            "foreign-host",
            "platform-dev-alb-1.eu-west-1.elb.amazonaws.com",
            "/crm/x",
            "foreign_host",
        ),
        ("ip-address", "[2001:db8::1]", "/crm/x", "foreign_host"),
        ("lookalike-domain", f"acme.evil{DOMAIN}", "/crm/x", "foreign_host"),
        ("unknown-app", f"acme.{DOMAIN}", "/payroll/run", "unknown_app"),
        ("app-name-deeper", f"acme.{DOMAIN}", "/x/crm", "unknown_app"),
        ("app-case", f"acme.{DOMAIN}", "/CRM/x", "unknown_app"),
        ("root-path", f"acme.{DOMAIN}", "/", "unknown_app"),
    ],
)
def test_alb_logs_unattributed_entries_land_in_the_summary(
    case: str, host: str, path: str, reason: str
) -> None:
    usage = usage_of([alb_line(host=host, path=path)])

    assert usage.rows() == [], case
    assert usage.summary.as_dict()["unattributed"] == {reason: 1}, case


def test_alb_logs_unparseable_request_has_no_host() -> None:
    line = alb_line().replace(
        '"GET https://acme.platform.example.com:443/crm/contacts HTTP/1.1"', '"- - - "'
    )

    usage = usage_of([line])

    assert usage.summary.as_dict()["unattributed"] == {"no_host": 1}


@pytest.mark.parametrize(
    ("case", "host", "path", "app"),
    [
        ("upper-case-host", "ACME.Platform.Example.com", "/crm/x", "crm"),
        ("trailing-dot", f"acme.{DOMAIN}.", "/hr/x", "hr"),
        ("app-root-exact", f"acme.{DOMAIN}", "/inventory", "inventory"),
        ("query-after-app", f"acme.{DOMAIN}", "/affiliate?ref=a/b", "affiliate"),
        ("app-then-slash", f"acme.{DOMAIN}", "/accounting/", "accounting"),
    ],
)
def test_alb_logs_host_and_path_forms_are_attributed(
    case: str, host: str, path: str, app: str
) -> None:
    usage = usage_of([alb_line(host=host, path=path), alb_line(host=host, path=path)])

    assert table(usage)[("acme", app)]["requests"] == 2, case


@pytest.mark.parametrize(
    ("case", "created", "counted_on"),
    [
        ("first-microsecond", "2026-11-30T00:00:00.000000Z", DAY),
        ("last-microsecond", "2026-11-30T23:59:59.999999Z", DAY),
        ("next-day-first-microsecond", "2026-12-01T00:00:00.000000Z", date(2026, 12, 1)),
        ("previous-day-last-microsecond", "2026-11-29T23:59:59.999999Z", date(2026, 11, 29)),
    ],
)
def test_alb_logs_day_windows_are_half_open_by_request_creation_time(
    case: str, created: str, counted_on: date
) -> None:
    # Completion time on the other side of midnight must not matter.
    line = alb_line(created=created, time="2026-12-01T00:00:00.100000Z")

    for day in (date(2026, 11, 29), DAY, date(2026, 12, 1)):
        usage = usage_of([line], day=day)
        requests = sum(value for *_, metric, value in usage.rows() if metric == "requests")
        assert requests == (1 if day == counted_on else 0), (case, day)
        assert usage.summary.outside_window == (0 if day == counted_on else 1), (case, day)


@pytest.mark.parametrize(
    ("case", "line"),
    [
        ("truncated", alb_line()[:150]),
        ("garbage", "this is not an access log entry"),
        ("unbalanced-quote", alb_line().replace('"curl/8.5.0"', '"curl/8.5.0')),
        ("missing-leading-field", alb_line().replace(" 0.001 0.042", " 0.042", 1)),
        ("bad-bytes", alb_line(received="12kB")),
        ("bad-creation-time", alb_line(created="yesterday")),
        ("bad-creation-time-in-day", alb_line(created="2026-11-30Tnoon")),
    ],
)
def test_alb_logs_malformed_lines_are_counted_not_fatal(case: str, line: str) -> None:
    usage = usage_of([alb_line(), line, alb_line(), ""])

    assert usage.summary.malformed == 1, case
    assert table(usage)[("acme", "crm")]["requests"] == 2, case


def test_alb_logs_malformed_lines_are_logged_once_per_file_with_line_numbers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = [alb_line(), "garbage", alb_line(), "more garbage", alb_line()]

    with caplog.at_level(logging.WARNING):
        usage_of(lines)

    warnings = [r for r in caplog.records if r.msg == "malformed ALB access log lines skipped"]
    assert len(warnings) == 1
    assert vars(warnings[0])["line_numbers"] == [2, 4]
    assert vars(warnings[0])["malformed_lines"] == 2
    assert vars(warnings[0])["source"] == "test.log.gz"


def test_alb_logs_repeated_entries_count_once_within_a_dedupe_group() -> None:
    first = alb_line(trace="Root=1-00000001-000000000000000000000001")
    second = alb_line(trace="Root=1-00000001-000000000000000000000002")

    deduped = usage_of([first, second, first, second + ' "appended"'], dedupe=True)
    plain = usage_of([first, second, first], dedupe=False)

    assert table(deduped)[("acme", "crm")]["requests"] == 2
    assert deduped.summary.duplicates == 2
    assert table(plain)[("acme", "crm")]["requests"] == 3


def test_alb_logs_entries_without_trace_id_are_told_apart_by_their_fields() -> None:
    lines = [
        alb_line(trace="-", client="198.51.100.1:1"),
        alb_line(trace="-", client="198.51.100.1:2"),
    ]

    usage = usage_of([*lines, lines[0]], dedupe=True)

    assert table(usage)[("acme", "crm")]["requests"] == 2


def test_alb_logs_begin_group_forgets_seen_entries() -> None:
    usage = AlbUsage(DAY, DOMAIN, TENANTS)
    data = gz([alb_line()])

    usage.add_stream(io.BytesIO(data), "a", dedupe=True)
    usage.add_stream(io.BytesIO(data), "b", dedupe=True)
    usage.begin_group()
    usage.add_stream(io.BytesIO(data), "c", dedupe=True)

    assert table(usage)[("acme", "crm")]["requests"] == 2


def test_alb_logs_rows_list_every_metric_of_a_pair_sorted() -> None:
    usage = usage_of([alb_line(host=f"globex.{DOMAIN}", path="/hr/a"), alb_line(path="/hr/b")])

    assert usage.rows() == [
        ("acme", "hr", "blocked", 0),
        ("acme", "hr", "bytes_in", 100),
        ("acme", "hr", "bytes_out", 200),
        ("acme", "hr", "errors_5xx", 0),
        ("acme", "hr", "requests", 1),
        ("globex", "hr", "blocked", 0),
        ("globex", "hr", "bytes_in", 100),
        ("globex", "hr", "bytes_out", 200),
        ("globex", "hr", "errors_5xx", 0),
        ("globex", "hr", "requests", 1),
    ]


def test_alb_logs_plain_text_streams_are_read_too() -> None:
    usage = AlbUsage(DAY, DOMAIN, TENANTS)

    usage.add_stream(io.BytesIO("\n".join(sample_lines()).encode()), "plain.log", gzipped=False)

    assert table(usage) == table(usage_of(sample_lines()))


def test_gunzip_chunks_reads_concatenated_members_and_ignores_zero_padding() -> None:
    data = gzip.compress(b"one\ntwo\n") + gzip.compress(b"three\n") + b"\0" * 16

    lines = [line for batch in iter_line_batches(gunzip_chunks(io.BytesIO(data))) for line in batch]

    assert lines == [b"one", b"two", b"three"]


def test_gunzip_chunks_refuses_a_truncated_stream() -> None:
    data = gzip.compress(b"x" * 10_000)[:-12]

    with pytest.raises(EOFError):
        list(gunzip_chunks(io.BytesIO(data)))


def test_gunzip_chunks_refuses_a_corrupt_stream() -> None:
    data = bytearray(gzip.compress(b"entry\n" * 1000))
    data[-8] ^= 0xFF  # the CRC of the member

    with pytest.raises(alb_logs.InflateError):
        list(gunzip_chunks(io.BytesIO(bytes(data))))


def test_gunzip_chunks_bounds_each_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alb_logs, "CHUNK_BYTES", 1000)
    data = gzip.compress(b"a" * 50_000)

    chunks = list(gunzip_chunks(io.BytesIO(data)))

    assert max(map(len, chunks)) <= 1000
    assert b"".join(chunks) == b"a" * 50_000


def test_iter_line_batches_joins_lines_split_across_chunks() -> None:
    chunks = [b"ab", b"c\nde", b"f\n", b"g"]

    lines = [line for batch in iter_line_batches(chunks) for line in batch]

    assert lines == [b"abc", b"def", b"g"]
