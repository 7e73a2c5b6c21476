"""The core database side of the job: tenants, a day's usage rows, quota flags.

Every function takes a cursor of one control-plane unit of work, so the caller decides the
transaction: the job replaces a day's rows and moves the quota flags in the same one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg2.extensions import cursor

ACTIVE = "active"
# One job at a time: two runs interleaving their delete and insert would collide.
JOB_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('usage_aggregation'))"

TENANTS_SQL = "SELECT id::text, slug, status FROM tenants ORDER BY slug"

DELETE_DAY_SQL = "DELETE FROM daily_usage WHERE usage_date = %(day)s"
COUNT_DAY_SQL = "SELECT count(*) FROM daily_usage WHERE usage_date = %(day)s"
INSERT_DAY_SQL = """
INSERT INTO daily_usage (tenant_id, usage_date, app, metric, value)
SELECT tenant_id, %(day)s, app, metric, value
FROM unnest(%(tenants)s::uuid[], %(apps)s::text[], %(metrics)s::text[], %(values)s::bigint[])
    AS row (tenant_id, app, metric, value)
"""

# Month-to-date usage of every quota-limited metric of every active subscription.
QUOTAS_SQL = """
SELECT s.tenant_id::text, s.id::text, t.slug, s.plan_code, q.metric, q.monthly_limit,
       coalesce(u.value, 0)::bigint, s.over_quota_month
FROM subscriptions AS s
JOIN tenants AS t ON t.id = s.tenant_id
JOIN plan_quotas AS q ON q.plan_code = s.plan_code
LEFT JOIN monthly_usage AS u
    ON u.tenant_id = s.tenant_id AND u.metric = q.metric AND u.month = %(month)s
WHERE s.status = 'active'
ORDER BY t.slug, q.metric
"""
# Moves the flag forward only, so the crossing of a month raises one event, and a backfill
# of an earlier month never takes the flag back from a later one.
FLAG_SQL = """
UPDATE subscriptions
SET over_quota_month = %(month)s, over_quota_flagged_at = now()
WHERE tenant_id = %(tenant_id)s AND id = %(subscription_id)s
    AND (over_quota_month IS NULL OR over_quota_month < %(month)s)
RETURNING id
"""
UNFLAG_SQL = """
UPDATE subscriptions
SET over_quota_month = NULL, over_quota_flagged_at = NULL
WHERE tenant_id = %(tenant_id)s AND id = %(subscription_id)s AND over_quota_month = %(month)s
RETURNING id
"""


@dataclass(frozen=True)
class Tenant:
    id: str
    slug: str
    status: str


@dataclass(frozen=True)
class UsageRow:
    """One line of the day: the core row and the report line."""

    tenant_id: str
    tenant_slug: str
    app: str
    metric: str
    value: int


@dataclass(frozen=True)
class QuotaUse:
    metric: str
    value: int
    limit: int


@dataclass(frozen=True)
class SubscriptionQuota:
    """Month-to-date usage of one active subscription against its plan's quotas."""

    tenant_id: str
    subscription_id: str
    tenant_slug: str
    plan: str
    flagged_month: date | None
    uses: tuple[QuotaUse, ...]

    @property
    def over(self) -> tuple[QuotaUse, ...]:
        return tuple(use for use in self.uses if use.value > use.limit)


def load_tenants(cur: cursor) -> list[Tenant]:
    cur.execute(TENANTS_SQL)
    return [Tenant(tenant_id, slug, status) for tenant_id, slug, status in cur.fetchall()]


def stored_rows(cur: cursor, day: date) -> int:
    """How many usage rows the day holds now."""
    cur.execute(COUNT_DAY_SQL, {"day": day})
    row = cur.fetchone()
    return int(row[0]) if row else 0


def replace_day(cur: cursor, day: date, rows: Iterable[UsageRow]) -> int:
    """Delete the day's rows and insert `rows` instead; returns how many were inserted."""
    listed = list(rows)
    cur.execute(DELETE_DAY_SQL, {"day": day})
    cur.execute(
        INSERT_DAY_SQL,
        {
            "day": day,
            "tenants": [row.tenant_id for row in listed],
            "apps": [row.app for row in listed],
            "metrics": [row.metric for row in listed],
            "values": [row.value for row in listed],
        },
    )
    return len(listed)


def month_quotas(cur: cursor, month: date) -> list[SubscriptionQuota]:
    cur.execute(QUOTAS_SQL, {"month": month})
    found: dict[str, SubscriptionQuota] = {}
    for tenant_id, subscription_id, slug, plan, metric, limit, value, flagged in cur.fetchall():
        use = QuotaUse(metric, int(value), int(limit))
        known = found.get(subscription_id)
        if known is None:
            found[subscription_id] = SubscriptionQuota(
                tenant_id, subscription_id, slug, plan, flagged, (use,)
            )
        else:
            found[subscription_id] = SubscriptionQuota(
                tenant_id, subscription_id, slug, plan, flagged, (*known.uses, use)
            )
    return list(found.values())


def flag_over_quota(cur: cursor, quota: SubscriptionQuota, month: date) -> bool:
    """Flag the subscription for `month`; True only when this call moved the flag."""
    cur.execute(FLAG_SQL, _keys(quota, month))
    return cur.fetchone() is not None


def unflag(cur: cursor, quota: SubscriptionQuota, month: date) -> bool:
    """Clear `month`'s flag of a subscription whose recomputed usage is within its quotas."""
    cur.execute(UNFLAG_SQL, _keys(quota, month))
    return cur.fetchone() is not None


def _keys(quota: SubscriptionQuota, month: date) -> dict[str, object]:
    return {"tenant_id": quota.tenant_id, "subscription_id": quota.subscription_id, "month": month}
