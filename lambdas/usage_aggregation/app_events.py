"""A day's metered app usage events, summed by PostgreSQL per tenant and metric.

Each app database is read through its usage-reader role, whose one policy shows every
tenant's `usage_events` and nothing else. The grouping happens in SQL over the index on
`occurred_at`, so what crosses the wire is one row per tenant and metric, whatever the
number of events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg2.extensions import cursor

DAY_USAGE_SQL = """
SELECT tenant_id::text, metric, sum(quantity)::bigint, count(*)
FROM usage_events
WHERE occurred_at >= %(start)s AND occurred_at < %(end)s
GROUP BY tenant_id, metric
ORDER BY tenant_id, metric
"""


@dataclass(frozen=True)
class AppUsage:
    """The sum of one metric's quantities of one tenant in one app over a window."""

    tenant_id: str
    app: str
    metric: str
    value: int
    events: int


def read_app_usage(cur: cursor, app: str, start: datetime, end: datetime) -> list[AppUsage]:
    """Usage of [start, end) in `app`'s database, as seen through `cur`."""
    cur.execute(DAY_USAGE_SQL, {"start": start, "end": end})
    return [
        AppUsage(tenant_id, app, metric, int(value), int(events))
        for tenant_id, metric, value, events in cur.fetchall()
    ]
