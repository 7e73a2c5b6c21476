"""Streaming parser of ALB access log entries and their attribution to a tenant and an app.

One `AlbUsage` collects one UTC day. Lines are read from a binary stream in bounded chunks
and folded straight into counters per (tenant slug, app), so memory depends on the number
of tenants and apps, never on how many entries a tenant made.

Field positions follow the ALB access log format that AWS documents
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html#access-log-entry-format):
fields that AWS appends later are ignored, quoted fields may hold spaces and `\\"` escapes,
and `-` stands for a missing value.

Two paths read the lines and share the attribution (`AlbUsage._fold`). The block path takes
about BLOCK_BYTES of whole lines at once: when every line has the same number of quotes, one
`split` on quotes in C cuts the block into fields, and slices of that list are the columns
(all heads, all requests, all actions, ...), checked and converted in bulk in C (`map`,
`list.count`, one regular expression over the joined creation times, one over the joined
requests for the attribution key), leaving one short Python loop a line to count. A block
it cannot vouch for as a whole goes to the exact path, which reads line by line (escaped
quotes, malformed lines, entries of another day, deduplication). Every check of the block
path stands for one of the exact path, so counters and summary are the same whichever path
read a line (tests/lambdas/usage_aggregation/test_usage_alb_block_path.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from aws_lambda_powertools import Logger
from isal import isal_zlib

logger = Logger(child=True)

APPS = ("crm", "hr", "accounting", "inventory", "affiliate")
METRICS = ("requests", "errors_5xx", "bytes_in", "bytes_out", "blocked")
REQUESTS, ERRORS_5XX, BYTES_IN, BYTES_OUT, BLOCKED = range(len(METRICS))
OTHER = len(METRICS)  # one more slot per counter list: entries neither forwarded nor blocked
SLOTS = OTHER + 1
ENTRY_TYPES = (b"https", b"h2", b"http", b"wss", b"ws", b"grpcs")  # most frequent first

# Why an entry was not attributed, as the summary names it.
APEX = "apex"
UNKNOWN_TENANT = "unknown_tenant"
INACTIVE_TENANT = "inactive_tenant"
FOREIGN_HOST = "foreign_host"
NO_HOST = "no_host"
UNKNOWN_APP = "unknown_app"
UNATTRIBUTED_REASONS = (APEX, UNKNOWN_TENANT, INACTIVE_TENANT, FOREIGN_HOST, NO_HOST, UNKNOWN_APP)

READ_BYTES = 1 << 16
CHUNK_BYTES = 1 << 20
MALFORMED_LINES_LOGGED = 20
# What a damaged gzip stream raises. Inflate is ISA-L's (isal_zlib: zlib's interface at about
# twice its speed on these logs), whose errors are its own, not zlib.error. (isal's stubs
# declare `error` an instance; it is the exception class.)
InflateError: type[Exception] = isal_zlib.error  # type: ignore[assignment]
GZIP_ERRORS: tuple[type[Exception], ...] = (EOFError, InflateError)
TARGET_CACHE_LIMIT = 10_000
BLOCK_BYTES = 1 << 15  # the block path's unit: big enough to share its fixed cost, and
# small enough that its lists stay in the CPU cache (whole gzip chunks: about 10 % slower)

_TYPE_PREFIXES = tuple(kind + b" " for kind in ENTRY_TYPES)
_ENTRY_TYPES = frozenset(ENTRY_TYPES)
_NEWLINE_ENTRY_TYPES = frozenset(b"\n" + kind for kind in ENTRY_TYPES)
_APP_BY_SEGMENT = {app: app for app in APPS}
# "METHOD scheme://authority/first-segment": the segment ends at / ? # ; or a space.
_REQUEST = re.compile(rb"\S+ [A-Za-z][A-Za-z0-9+.-]*://([^/ ]*)(?:/([^/?#; ]*))?")
# Slow path: a quoted field (escapes allowed) or a bare token.
_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\S+)')
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z")
# Token positions: 12 bare leading fields (type ... sent_bytes), then the ones read here.
_HEAD_FIELDS, _REQUEST_FIELD, _TRACE_ID, _CREATION_TIME, _ACTIONS = 12, 12, 17, 21, 22
# Block path: a line needs at least 12 quotes (the exact path's `split(b'"', 12)`); the
# fields it reads of the head, by position after splitting on its 12 spaces.
_QUOTES = 12
_HEAD_SPACES, _ELB_STATUS, _RECEIVED, _SENT = 12, 8, 10, 11
# Block path: the request's prefix up to its fourth slash, the first one starting "//", as
# `_request_prefix` cuts it; over requests joined by newlines, one match a line (a request
# without a fourth slash runs into the next line, which is then left without a match).
_PREFIX = re.compile(rb"\n([^/]*//[^/]*/[^/]*)")


class ByteStream(Protocol):
    """A binary file or an S3 object body: anything with read(size)."""

    def read(self, size: int, /) -> bytes: ...


@dataclass
class UsageSummary:
    """What the files held besides usage, and why it was not counted."""

    files: int = 0
    duplicate_files: int = 0
    unreadable_files: int = 0
    lines: int = 0
    entries: int = 0
    malformed: int = 0
    duplicates: int = 0
    outside_window: int = 0
    not_forwarded: int = 0
    unattributed: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "duplicate_files": self.duplicate_files,
            "unreadable_files": self.unreadable_files,
            "lines": self.lines,
            "entries": self.entries,
            "malformed_lines": self.malformed,
            "duplicate_entries": self.duplicates,
            "outside_window": self.outside_window,
            "not_forwarded": self.not_forwarded,
            "unattributed": {reason: n for reason, n in sorted(self.unattributed.items()) if n},
        }


def gunzip_chunks(stream: ByteStream) -> Iterator[bytes]:
    """Decompress a gzip stream of one or more members into chunks of at most CHUNK_BYTES.

    The inflater checks each member's CRC and length itself, which is faster than GzipFile;
    zero padding after the last member is ignored as gzip does. Raises InflateError on
    corrupt data and EOFError when the stream ends inside a member (GZIP_ERRORS).
    """
    inflater = isal_zlib.decompressobj(wbits=31)
    pending = False
    while data := stream.read(READ_BYTES):
        while data:
            pending = True
            chunk = inflater.decompress(data, CHUNK_BYTES)
            if chunk:
                yield chunk
            if not inflater.eof:
                data = inflater.unconsumed_tail
                continue
            data = inflater.unused_data
            inflater = isal_zlib.decompressobj(wbits=31)
            pending = False
            if not data.strip(b"\0"):
                break
    if pending:
        raise EOFError("compressed stream ended before the end-of-stream marker")


def read_chunks(stream: ByteStream) -> Iterator[bytes]:
    """Chunks of at most CHUNK_BYTES of an uncompressed stream."""
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def iter_line_batches(chunks: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The lines of a byte stream given as chunks, one list of lines per chunk."""
    carry = b""
    for chunk in chunks:
        lines = chunk.split(b"\n")
        if carry:
            lines[0] = carry + lines[0]
        carry = lines.pop()
        yield lines
    if carry:
        yield [carry]


def iter_line_blocks(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The lines of a byte stream given as chunks, as blocks of whole lines joined by
    newlines (without the last one), each about `size` bytes or one line if longer: a block
    holds `block.count(b"\\n") + 1` lines, the same lines iter_line_batches gives."""
    carry = b""
    for chunk in chunks:
        text = carry + chunk if carry else chunk
        start = 0
        while (end := text.find(b"\n", start + size)) >= 0:
            yield text[start:end]
            start = end + 1
        end = text.rfind(b"\n", start)
        if end >= 0:
            yield text[start:end]
            start = end + 1
        carry = text[start:]
    if carry:
        yield carry


def _request_prefix(request: bytes) -> bytes:
    """The request up to the slash after its first path segment ("METHOD scheme://authority
    /segment"), the key of the attribution cache; the whole request without that slash."""
    path = request.find(b"/", request.find(b"//") + 2)
    end = request.find(b"/", path + 1)
    return request[:end] if end > 0 else request


def _slow_fields(line: bytes) -> tuple[bytes, bytes, bytes, bytes, bytes] | None:
    """(head, request, trace id, creation time, actions) of a line that the quote split
    cannot cut, e.g. one with escaped quotes; head is the 12 bare leading fields each
    followed by a space. None when the line lacks those fields."""
    tokens = [bare or quoted for quoted, bare in _TOKEN.findall(line)]
    if len(tokens) <= _ACTIONS:
        return None
    return (
        b" ".join(tokens[:_HEAD_FIELDS]) + b" ",
        tokens[_REQUEST_FIELD].replace(b'\\"', b'"'),
        tokens[_TRACE_ID],
        tokens[_CREATION_TIME],
        tokens[_ACTIONS],
    )


class AlbUsage:
    """Counters of one UTC day per (tenant slug, app), fed file by file.

    `active_tenants` maps the slug (first host label) of each active tenant to its id;
    `inactive_tenants` only lets the summary say why their entries were not counted.
    An entry is identified by its request creation time and trace id (its whole leading
    fields when the trace id is `-`). Files added with `dedupe=True` form a group in which
    a repeated entry counts once; `begin_group()` starts a new group. ALB writes each entry
    to exactly one file, so only files that may overlap (see log_files.py) need it.
    """

    def __init__(
        self,
        day: date,
        platform_domain: str,
        active_tenants: Mapping[str, str],
        inactive_tenants: Collection[str] = (),
    ) -> None:
        self.day = day
        self.domain = platform_domain.lower().rstrip(".")
        self.active_tenants = dict(active_tenants)
        self.inactive_tenants = frozenset(inactive_tenants) - self.active_tenants.keys()
        self.counters: dict[tuple[str, str], list[int]] = {}
        self._unattributed = {reason: [0] * SLOTS for reason in UNATTRIBUTED_REASONS}
        self._summary = UsageSummary()
        self._day = day.isoformat().encode()
        # Block path: "priority creation-time" of each line, joined by newlines, all of them
        # two tokens (split() would say two) with the time on this day and ending in Z.
        self._in_day = re.compile(rb"(?: \S+ " + re.escape(self._day) + rb"T\S*Z \n)*")
        self._seen: set[bytes] = set()
        self._targets: dict[bytes, list[int]] = {}
        self._kinds: dict[bytes, int] = {}

    def begin_group(self) -> None:
        """Forget the entries seen so far: later files cannot repeat them."""
        self._seen.clear()

    @property
    def summary(self) -> UsageSummary:
        summary = self._summary
        summary.unattributed = Counter(
            {
                reason: values[REQUESTS] + values[BLOCKED] + values[OTHER]
                for reason, values in self._unattributed.items()
            }
        )
        summary.not_forwarded = sum(values[OTHER] for values in self.counters.values())
        summary.entries = sum(summary.unattributed.values()) + sum(
            values[REQUESTS] + values[BLOCKED] + values[OTHER] for values in self.counters.values()
        )
        return summary

    def rows(self) -> list[tuple[str, str, str, int]]:
        """(tenant slug, app, metric, value), sorted, for every (tenant, app) with usage.

        All five metrics are listed for such a pair, zeros included, so a report always has
        the same shape; a pair whose entries were all redirects or fixed responses is left
        out.
        """
        return sorted(
            (tenant, app, metric, values[index])
            for (tenant, app), values in self.counters.items()
            if values[REQUESTS] or values[BLOCKED]
            for index, metric in enumerate(METRICS)
        )

    def add_stream(
        self, stream: ByteStream, source: str, *, gzipped: bool = True, dedupe: bool = False
    ) -> None:
        """Parse and attribute every line of one log file, gzip or plain text."""
        self._summary.files += 1
        chunks = gunzip_chunks(stream) if gzipped else read_chunks(stream)
        if dedupe:  # whether an entry counts depends on the ones before it: line by line
            self.add_lines(iter_line_batches(chunks), source, dedupe=True)
            return
        self.add_lines(self._fold_blocks(iter_line_blocks(chunks, BLOCK_BYTES)), source)

    def add_lines(
        self, batches: Iterable[list[bytes] | int], source: str, *, dedupe: bool = False
    ) -> None:
        """Fold lines into the counters; line numbers in the log start at 1 per call.

        A batch is a list of lines for the exact path, or the number of lines that the block
        path has already counted (they only advance the line numbers).
        """
        seen = self._seen
        seen_add = seen.add
        timestamp_match = _TIMESTAMP.fullmatch
        types = _TYPE_PREFIXES
        day = self._day + b"T"
        malformed: list[int] = []
        lineno = outside = duplicates = 0

        for batch in batches:
            if isinstance(batch, int):
                lineno += batch
                continue
            # The fields _fold needs, one list per field, of the lines that count.
            prefixes: list[bytes] = []
            actions_of: list[bytes] = []
            statuses: list[bytes] = []
            received_of: list[int] = []
            sent_of: list[int] = []
            for line in batch:
                lineno += 1
                parts = line.split(b'"', 12)
                if len(parts) == 13 and parts[2] == b" " and parts[6] == b" " == parts[8]:
                    head = parts[0]
                    request = parts[1]
                    trace = parts[5]
                    actions = parts[11]
                    tail = parts[10].split()
                    created = tail[1] if len(tail) == 2 else b""
                else:
                    slow = _slow_fields(line)
                    if slow is None:
                        if line.strip():
                            malformed.append(lineno)
                        continue
                    head, request, trace, created, actions = slow
                if not head.startswith(types) or head.count(b" ") != 12:
                    malformed.append(lineno)
                    continue
                _, status, _, received, sent, _ = head.rsplit(b" ", 5)
                try:
                    bytes_in = int(received)
                    bytes_out = int(sent)
                except ValueError:
                    if (received != b"-" and not received.isdigit()) or (
                        sent != b"-" and not sent.isdigit()
                    ):
                        malformed.append(lineno)
                        continue
                    bytes_in = int(received) if received.isdigit() else 0
                    bytes_out = int(sent) if sent.isdigit() else 0
                if created[:11] != day or created[-1:] != b"Z":
                    if timestamp_match(created) is None:
                        malformed.append(lineno)
                    else:
                        outside += 1
                    continue

                if dedupe:
                    size = len(seen)
                    seen_add(created + (head if trace == b"-" else trace))
                    if len(seen) == size:
                        duplicates += 1
                        continue

                prefixes.append(_request_prefix(request))
                actions_of.append(actions)
                statuses.append(status)
                received_of.append(bytes_in)
                sent_of.append(bytes_out)
            self._fold(prefixes, actions_of, statuses, received_of, sent_of)

        summary = self._summary
        summary.lines += lineno
        summary.outside_window += outside
        summary.malformed += len(malformed)
        summary.duplicates += duplicates
        if malformed:
            logger.warning(
                "malformed ALB access log lines skipped",
                extra={
                    "source": source,
                    "malformed_lines": len(malformed),
                    "line_numbers": malformed[:MALFORMED_LINES_LOGGED],
                },
            )

    def _fold_blocks(self, blocks: Iterable[bytes]) -> Iterator[list[bytes] | int]:
        """Count blocks of lines on the block path, as batches for add_lines: the number of
        lines of a block counted, or the lines of a block left to the exact path."""
        for block in blocks:
            yield self._fold_block(block) or block.split(b"\n")

    def _fold_block(self, block: bytes) -> int:
        """Count the lines of a block (lines joined by newlines) if the exact path would
        count every one of them, with the same fields, and return how many; otherwise count
        nothing and return 0.

        The checks are made in bulk over the block, each standing for one of the exact
        path's: every line has the same number of quotes, at least 12, so the exact path's
        quick `split(b'"', 12)` applies and the fields sit at fixed positions of the block's
        split; the single spaces between request and user agent, trace id and domain, domain
        and certificate; a head of a known entry type and exactly 12 spaces (stricter: the
        last one ends the head); both byte counts integers (a `-` sends the block to the
        exact path); a creation time on this day (stricter: one space around each of the
        two tokens); a request whose prefix the regular expression cuts.
        """
        first = block.find(b"\n")
        quotes = block.count(b'"', 0, first if first >= 0 else len(block))
        if quotes < _QUOTES:
            return 0
        # Each newline becomes a field of its own, so line i is parts[i * stride :][:stride]
        # when every line has `quotes` quotes. (The length grows by 2 a newline: counting
        # this way is much faster than bytes.count.)
        stride = quotes + 2
        text = block.replace(b"\n", b'"\n"')
        lines = (len(text) - len(block)) // 2 + 1
        parts = text.split(b'"')
        if (
            len(parts) != lines * stride - 1
            or parts[quotes + 1 :: stride].count(b"\n") != lines - 1
            or parts[2::stride].count(b" ") != lines
            or parts[6::stride].count(b" ") != lines
            or parts[8::stride].count(b" ") != lines
        ):
            return 0
        # The heads joined by newlines, split on spaces. When every head is an entry type
        # and 11 more fields, each followed by one space, token 12 * i + k is field k of
        # head i (what the exact path's rsplit(b" ", 5) gives) and token 12 * i, i > 0, is
        # "\n" and the entry type. Conversely, the newlines sit in the tokens whose index is
        # the running sum of the heads' spaces; with each of them in token 12 * i and
        # 12 * lines spaces in all, every head has 12, as the exact path checks.
        tokens = b"\n".join(parts[::stride]).split(b" ")
        if (
            len(tokens) != _HEAD_SPACES * lines + 1
            or tokens[0] not in _ENTRY_TYPES
            or not _NEWLINE_ENTRY_TYPES.issuperset(tokens[_HEAD_SPACES:-1:_HEAD_SPACES])
        ):
            return 0
        if self._in_day.fullmatch(b"\n".join(parts[10::stride]) + b"\n") is None:
            return 0
        try:
            received = list(map(int, tokens[_RECEIVED::_HEAD_SPACES]))
            sent = list(map(int, tokens[_SENT::_HEAD_SPACES]))
        except ValueError:
            return 0
        # Every request's prefix, as the exact path cuts it: one match per line, starting
        # at its newline (a match running into the next line leaves that one without).
        prefixes = _PREFIX.findall(b"\n" + b"\n".join(parts[1::stride]))
        if len(prefixes) != lines:
            return 0
        statuses = tokens[_ELB_STATUS::_HEAD_SPACES]
        self._fold(prefixes, parts[11::stride], statuses, received, sent)
        return lines

    def _fold(
        self,
        prefixes: list[bytes],
        actions_of: list[bytes],
        statuses: list[bytes],
        received: list[int],
        sent: list[int],
    ) -> None:
        """Attribute and count entries given as one list per field, the same index being
        the same entry: request prefix, actions executed, ELB status, received and sent
        bytes."""
        targets = self._targets
        target_of = self._target
        kinds = self._kinds
        for prefix, actions, status, bytes_in, bytes_out in zip(
            prefixes, actions_of, statuses, received, sent, strict=True
        ):
            values = targets.get(prefix)
            if values is None:
                values = target_of(prefix)
            kind = kinds.get(actions)
            if kind is None:
                kind = self._kind(actions)
            if kind == REQUESTS:
                values[REQUESTS] += 1
                # The ELB status is what the client saw: a target's 5xx passes through,
                # and a 502/503/504 that ALB makes when the target fails has target "-".
                if status[:1] == b"5":
                    values[ERRORS_5XX] += 1
                values[BYTES_IN] += bytes_in
                values[BYTES_OUT] += bytes_out
            else:
                values[kind] += 1

    def _kind(self, actions: bytes) -> int:
        """The counter an entry's actions executed go to, cached (a log holds few distinct
        lists, and `b"forward" in actions` is slow: bytes first tries it as an integer)."""
        if len(self._kinds) >= TARGET_CACHE_LIMIT:
            self._kinds.clear()
        if b"forward" in actions:
            kind = REQUESTS
        elif actions.endswith(b"waf"):  # WAF was the final action: it blocked
            kind = BLOCKED
        else:
            kind = OTHER
        self._kinds[actions] = kind
        return kind

    def _target(self, prefix: bytes) -> list[int]:
        """The counter list for a request prefix "METHOD scheme://authority/segment...",
        cached: a tenant and app pair's, or the list of the reason it is unattributed."""
        if len(self._targets) >= TARGET_CACHE_LIMIT:
            self._targets.clear()
        tenant, app, reason = self._attribute(prefix)
        if tenant is None or app is None:
            values = self._unattributed[reason]
        else:
            values = self.counters.get((tenant, app)) or [0] * SLOTS
            self.counters[(tenant, app)] = values
        self._targets[prefix] = values
        return values

    def _attribute(self, request: bytes) -> tuple[str | None, str | None, str]:
        match = _REQUEST.match(request)
        if match is None or not match[1]:
            return None, None, NO_HOST
        host = match[1].decode("ascii", "replace").lower().rpartition("@")[2]
        if host.startswith("["):
            return None, None, FOREIGN_HOST
        host = host.partition(":")[0].rstrip(".")
        suffix = "." + self.domain
        if host == self.domain:
            return None, None, APEX
        if not host.endswith(suffix):
            return None, None, FOREIGN_HOST
        label = host[: -len(suffix)]
        if label in self.inactive_tenants:
            return None, None, INACTIVE_TENANT
        if label not in self.active_tenants:
            return None, None, UNKNOWN_TENANT
        app = _APP_BY_SEGMENT.get((match[2] or b"").decode("ascii", "replace"))
        return label, app, UNKNOWN_APP
