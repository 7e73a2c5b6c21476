"""Streaming parser of ALB access log entries and their attribution to a tenant and an app.

One `AlbUsage` collects one UTC day. Lines are read from a binary stream in bounded chunks
and folded straight into counters per (tenant slug, app), so memory depends on the number
of tenants and apps, never on how many entries a tenant made.

Field positions follow the ALB access log format that AWS documents
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html#access-log-entry-format):
fields that AWS appends later are ignored, quoted fields may hold spaces and `\\"` escapes,
and `-` stands for a missing value.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from aws_lambda_powertools import Logger

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
TARGET_CACHE_LIMIT = 10_000

_TYPE_PREFIXES = tuple(kind + b" " for kind in ENTRY_TYPES)
_APP_BY_SEGMENT = {app: app for app in APPS}
# "METHOD scheme://authority/first-segment": the segment ends at / ? # ; or a space.
_REQUEST = re.compile(rb"\S+ [A-Za-z][A-Za-z0-9+.-]*://([^/ ]*)(?:/([^/?#; ]*))?")
# Slow path: a quoted field (escapes allowed) or a bare token.
_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\S+)')
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z")
# Token positions: 12 bare leading fields (type ... sent_bytes), then the ones read here.
_HEAD_FIELDS, _REQUEST_FIELD, _TRACE_ID, _CREATION_TIME, _ACTIONS = 12, 12, 17, 21, 22


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

    zlib checks each member's CRC and length itself, which is faster than GzipFile; zero
    padding after the last member is ignored as gzip does. Raises zlib.error on corrupt
    data and EOFError when the stream ends inside a member.
    """
    inflater = zlib.decompressobj(wbits=31)
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
            inflater = zlib.decompressobj(wbits=31)
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
        self._seen: set[bytes] = set()
        self._targets: dict[bytes, list[int]] = {}

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
        self.add_lines(iter_line_batches(chunks), source, dedupe=dedupe)

    def add_lines(
        self, batches: Iterable[list[bytes]], source: str, *, dedupe: bool = False
    ) -> None:
        """Fold lines into the counters; line numbers in the log start at 1 per call."""
        seen = self._seen
        seen_add = seen.add
        targets = self._targets
        target_of = self._target
        timestamp_match = _TIMESTAMP.fullmatch
        types = _TYPE_PREFIXES
        day = self._day + b"T"
        malformed: list[int] = []
        lineno = outside = duplicates = 0

        for batch in batches:
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

                path = request.find(b"/", request.find(b"//") + 2)
                end = request.find(b"/", path + 1)
                prefix = request[:end] if end > 0 else request
                values = targets.get(prefix)
                if values is None:
                    values = target_of(prefix)
                if b"forward" in actions:
                    values[REQUESTS] += 1
                    # The ELB status is what the client saw: a target's 5xx passes through,
                    # and a 502/503/504 that ALB makes when the target fails has target "-".
                    if status[:1] == b"5":
                        values[ERRORS_5XX] += 1
                    values[BYTES_IN] += bytes_in
                    values[BYTES_OUT] += bytes_out
                elif actions.endswith(b"waf"):  # WAF was the final action: it blocked
                    values[BLOCKED] += 1
                else:
                    values[OTHER] += 1

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
