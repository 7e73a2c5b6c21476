"""The block path of the ALB log parser against the exact, line by line path.

`AlbUsage.add_stream` counts blocks of ordinary lines in bulk and hands any block it cannot
vouch for to the exact path (`add_lines` on lists of lines). Whatever the mix, counters,
summary and the logged malformed line numbers must be those of the exact path alone.
"""

from __future__ import annotations

import gzip
import io
import logging
import random
from datetime import date

import pytest

from lambdas.usage_aggregation import alb_logs
from lambdas.usage_aggregation.alb_logs import AlbUsage, iter_line_batches, iter_line_blocks

from .support import DOMAIN, TENANTS, alb_line

DAY = date(2026, 11, 30)
WARNING = "malformed ALB access log lines skipped"

# Lines the block path counts: every field as the exact path reads it.
ORDINARY = [
    alb_line(),
    alb_line(kind="h2", path="/hr/people/7", received="1", sent="2"),
    alb_line(kind="http", actions="redirect", elb_status="301", target_status="-"),
    alb_line(actions="waf", elb_status="403", target_status="-"),
    alb_line(elb_status="502", target_status="-"),
    alb_line(host=f"globex.{DOMAIN}", path="/accounting"),  # no slash after the segment
    alb_line(host=DOMAIN, path="/crm/x"),
    alb_line(host=f"hooli.{DOMAIN}", path="/crm/x"),
    alb_line(host=f"umbrella.{DOMAIN}", path="/crm/x"),
    alb_line(path="/payroll/run?x=a/b"),
    alb_line(kind="grpcs", actions="forward", created="2026-11-30T23:59:59.999999999Z"),
    # Odd, and still read alike by both paths: CR before the newline, an empty head field.
    alb_line(kind="wss", elb_status="101") + "\r",
    alb_line().replace(" 0.001 0.042", "  0.042", 1),
]
# Lines the block path leaves to the exact path, and why.
ODD = {
    "escaped-quotes": alb_line(user_agent='Mozilla/5.0 (\\"quoted\\" agent) \\"', received="11"),
    "escaped-quote-in-path": alb_line(path='/hr/search?q=\\"a b\\"'),
    "appended-fields": alb_line() + ' "new-field" "a b \\"c\\"" 7',
    "dash-bytes": alb_line(received="-", sent="-", elb_status="504", target_status="-"),
    "previous-day": alb_line(created="2026-11-29T23:59:59.999999Z"),
    "next-day": alb_line(created="2026-12-01T00:00:00.000000Z"),
    "unparseable-request": alb_line().replace(
        '"GET https://acme.platform.example.com:443/crm/contacts HTTP/1.1"', '"- - - "'
    ),
    "relative-request": alb_line().replace(
        '"GET https://acme.platform.example.com:443/crm/contacts HTTP/1.1"',
        '"GET /crm/contacts HTTP/1.1"',
    ),
    "no-fourth-slash": alb_line().replace(
        '"GET https://acme.platform.example.com:443/crm/contacts HTTP/1.1"',
        '"GET https://acme.platform.example.com:443/crm"',
    ),
    "token-after-request": alb_line().replace('HTTP/1.1" "curl', 'HTTP/1.1" x "curl'),
    "token-after-trace-id": alb_line().replace('abc" "acme.', 'abc" x "acme.'),
    "token-after-domain": alb_line().replace('.com" "arn:aws:acm', '.com" x "arn:aws:acm'),
    "tab-in-creation-time": alb_line(created="2026-11-30T10:00:00.0\t00000Z"),
    "extra-leading-field": alb_line().replace(" 0.001 0.042", " 0.001 0.5 0.042", 1),
    "tab-in-creation-field": alb_line().replace(
        " 10 2026-11-30T10:00:00", " 10\t2026-11-30T10:00:00"
    ),
    "empty": "",
    "blank-with-cr": "\r",
    # malformed for both paths
    "garbage": "this is not an access log entry",
    "truncated": alb_line()[:150],
    "unknown-entry-type": alb_line(kind="quic"),
    "bad-bytes": alb_line(received="12kB"),
    "bad-creation-time": alb_line(created="2026-11-30Tnoon"),
    "missing-leading-field": alb_line().replace(" 0.001 0.042", " 0.042", 1),
    "unbalanced-quote": alb_line().replace('"curl/8.5.0"', '"curl/8.5.0'),
}


def data_of(lines: list[str], *, final_newline: bool = True) -> bytes:
    text = "\n".join(lines) + ("\n" if final_newline else "")
    return text.encode()


def exact(data: bytes, *, dedupe: bool = False) -> AlbUsage:
    """The exact path alone: every line through add_lines."""
    usage = AlbUsage(DAY, DOMAIN, TENANTS, inactive_tenants=["umbrella"])
    usage.add_lines(iter_line_batches([data]), "test.log", dedupe=dedupe)
    usage.summary.files += 1  # as add_stream counts it
    return usage


def streamed(data: bytes, *, dedupe: bool = False) -> AlbUsage:
    """What the job does: add_stream on the gzip file (block path unless dedupe)."""
    usage = AlbUsage(DAY, DOMAIN, TENANTS, inactive_tenants=["umbrella"])
    usage.add_stream(io.BytesIO(gzip.compress(data)), "test.log", dedupe=dedupe)
    return usage


def outcome(usage: AlbUsage) -> tuple[object, ...]:
    return usage.rows(), usage.summary.as_dict(), sorted(usage.counters.items())


def logged_line_numbers(caplog: pytest.LogCaptureFixture) -> list[list[int]]:
    return [vars(r)["line_numbers"] for r in caplog.records if r.msg == WARNING]


def assert_same_as_exact(
    data: bytes, caplog: pytest.LogCaptureFixture, *, dedupe: bool = False
) -> AlbUsage:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        expected = exact(data, dedupe=dedupe)
    expected_logged = logged_line_numbers(caplog)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        found = streamed(data, dedupe=dedupe)
    assert outcome(found) == outcome(expected)
    assert logged_line_numbers(caplog) == expected_logged
    return found


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few lines and gzip chunks that cut lines, so that one test has many
    blocks, block boundaries inside chunks and lines across chunk boundaries."""
    monkeypatch.setattr(alb_logs, "BLOCK_BYTES", 1500)
    monkeypatch.setattr(alb_logs, "READ_BYTES", 97)
    monkeypatch.setattr(alb_logs, "CHUNK_BYTES", 733)


def test_block_path_counts_ordinary_lines_in_bulk() -> None:
    block = data_of(ORDINARY * 3, final_newline=False)
    usage = AlbUsage(DAY, DOMAIN, TENANTS, inactive_tenants=["umbrella"])

    assert usage._fold_block(block) == len(ORDINARY) * 3

    assert outcome(usage)[::2] == outcome(exact(block))[::2]  # summary: lines come from add_lines


@pytest.mark.parametrize("position", ["first", "middle", "last"])
@pytest.mark.parametrize("case", sorted(ODD))
def test_block_path_refuses_a_block_with_an_odd_line_and_counts_nothing(
    case: str, position: str
) -> None:
    before, after = {"first": (0, 3), "middle": (2, 2), "last": (3, 0)}[position]
    lines = [*ORDINARY[:before], ODD[case], *ORDINARY[:after]]
    usage = AlbUsage(DAY, DOMAIN, TENANTS, inactive_tenants=["umbrella"])

    counted = usage._fold_block(data_of(lines, final_newline=False))

    if case == "no-fourth-slash" and position == "last":  # the rest of the block is its own
        assert counted == len(lines)
        assert outcome(usage)[::2] == outcome(exact(data_of(lines)))[::2]
        return
    assert counted == 0
    assert usage.counters == {}
    assert usage.summary.entries == 0


@pytest.mark.parametrize(
    "pair",
    [
        pytest.param(("missing-leading-field", "extra-leading-field"), id="head-spaces-11-13"),
        # 13 then 11: every field the block path reads is still a number
        pytest.param(("extra-leading-field", "missing-leading-field"), id="head-spaces-13-11"),
        pytest.param(("unbalanced-quote", "appended-fields"), id="quotes-23-30"),
    ],
)
def test_block_path_refuses_odd_lines_whose_oddities_add_up_to_ordinary(
    pair: tuple[str, str],
) -> None:
    # Totals over the block look right; only the per-line checks tell.
    lines = [ORDINARY[0], ODD[pair[0]], ODD[pair[1]], ORDINARY[0]]
    usage = AlbUsage(DAY, DOMAIN, TENANTS)

    assert usage._fold_block(data_of(lines, final_newline=False)) == 0
    assert usage.counters == {}


def test_block_path_refuses_lines_with_too_few_quotes_even_if_alike() -> None:
    # Cut before the actions: 10 quotes, the creation time last, as if it were field 10.
    line = ORDINARY[0][: ORDINARY[0].index('"authenticate,forward"')]
    usage = AlbUsage(DAY, DOMAIN, TENANTS)

    assert usage._fold_block(data_of([line] * 5, final_newline=False)) == 0
    assert exact(data_of([line] * 5)).summary.malformed == 5


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("case", sorted(ODD))
@pytest.mark.parametrize("dedupe", [False, True], ids=["plain", "dedupe"])
def test_block_path_gives_the_exact_result_around_each_odd_line(
    case: str, dedupe: bool, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [*ORDINARY * 4, ODD[case], *ORDINARY * 4, ODD[case], *ORDINARY]

    assert_same_as_exact(data_of(lines), caplog, dedupe=dedupe)


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("dedupe", [False, True], ids=["plain", "dedupe"])
def test_block_path_gives_the_exact_result_on_random_mixes(
    seed: int, dedupe: bool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(seed)
    odd = sorted(ODD.values())
    lines = [rnd.choice(odd) if rnd.random() < 0.08 else rnd.choice(ORDINARY) for _ in range(400)]
    lines += lines[:40]  # repeated entries, for dedupe
    counted: list[int] = []
    fold_block = AlbUsage._fold_block

    def spy(self: AlbUsage, block: bytes) -> int:
        counted.append(fold_block(self, block))
        return counted[-1]

    monkeypatch.setattr(AlbUsage, "_fold_block", spy)

    usage = assert_same_as_exact(data_of(lines, final_newline=seed % 2 == 0), caplog, dedupe=dedupe)

    assert usage.summary.lines == len(lines)
    if dedupe:  # line by line: whether an entry counts depends on the ones before it
        assert counted == []
    else:  # both paths had their share
        assert 0 < sum(counted) < len(lines)
        assert 0 in counted


def test_block_path_gives_the_exact_result_on_crlf_files(
    small_blocks: None, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [line + "\r" for line in ORDINARY * 10]

    usage = assert_same_as_exact(data_of(lines), caplog)

    assert usage.summary.malformed == 0


def test_block_path_gives_the_exact_result_with_appended_fields_on_every_line(
    small_blocks: None, caplog: pytest.LogCaptureFixture
) -> None:
    # All lines have the same, larger number of quotes: still the block path's case.
    lines = [line + ' "transformed-host" "-" "-"' for line in ORDINARY * 10]
    usage = AlbUsage(DAY, DOMAIN, TENANTS)

    assert usage._fold_block(data_of(lines, final_newline=False)) == len(lines)
    assert_same_as_exact(data_of(lines), caplog)


def test_block_path_gives_the_exact_result_at_full_block_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = ORDINARY * 400 + [ODD["escaped-quotes"], ODD["garbage"]] + ORDINARY * 400

    assert_same_as_exact(data_of(lines), caplog)


@pytest.mark.parametrize("size", [1, 100, 1000, 1 << 20])
def test_iter_line_blocks_gives_the_lines_of_iter_line_batches(size: int) -> None:
    data = b"a\nbb\n\nccc\r\nd" + b"e" * 300 + b"\nf\n\n"
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]

    blocks = list(iter_line_blocks(chunks, size))

    lines = [line for block in blocks for line in block.split(b"\n")]
    assert lines == [line for batch in iter_line_batches(chunks) for line in batch]
