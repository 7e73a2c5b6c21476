"""The core database as the tenant API uses it: tenants, leases, step records, the outbox.

Every function takes a cursor of a control-plane unit of work that the caller opened
(`connections.core().as_control_plane()`), so a step's own writes and its step record commit
together. The `tenants` registry has no tenant_id column and so no row-level security; the
control plane reaches it, and the tenant-owned tables across tenants, only in such a unit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg2.extras import Json

from lambdas.shared.db import Cursor
from lambdas.tenant_onboarding.settings import APPS, LEASE_SECONDS

StepColumn = Literal["provisioning_steps", "offboarding_steps"]

# The row as the Tenant dataclass names it (plan_code is `plan`); `apps` comes last.
_FIELDS = (
    "id",
    "slug",
    "name",
    "admin_email",
    "plan",
    "status",
    "provisioning_steps",
    "offboarding_steps",
    "failed_step",
    "failure_reason",
    "idempotency_key",
    "request_hash",
    "onboarding_request",
    "onboarding_response",
    "outbox",
    "lease_owner",
    "created_at",
    "activated_at",
    "offboarded_at",
    "apps",
)
_COLUMNS = ", ".join("plan_code" if name == "plan" else name for name in _FIELDS if name != "apps")
# Granted apps in the platform's app order.
_GRANTED_APPS = (
    "ARRAY(SELECT e.app FROM app_entitlements AS e"
    " WHERE e.tenant_id = t.id AND e.status = 'granted'"
    " ORDER BY array_position(%(app_order)s::text[], e.app))"
)
_SELECT = f"SELECT {_COLUMNS}, {_GRANTED_APPS} AS apps FROM tenants AS t"


class LeaseLostError(RuntimeError):
    """This request no longer holds the tenant: its lease expired and another request took it."""


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    apps: tuple[str, ...]


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    name: str
    admin_email: str
    plan: str
    status: str
    provisioning_steps: dict[str, str]
    offboarding_steps: dict[str, str]
    failed_step: str | None
    failure_reason: str | None
    idempotency_key: str | None
    request_hash: str | None
    onboarding_request: dict[str, Any] | None
    onboarding_response: dict[str, Any] | None
    outbox: list[dict[str, Any]]
    lease_owner: uuid.UUID | None
    created_at: datetime
    activated_at: datetime | None
    offboarded_at: datetime | None
    apps: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Tenant:
        values = dict(zip(_FIELDS, row, strict=True))
        values["id"] = uuid.UUID(str(values["id"]))
        owner = values["lease_owner"]
        values["lease_owner"] = uuid.UUID(str(owner)) if owner is not None else None
        values["apps"] = tuple(values["apps"])
        return cls(**values)


def _params(**values: Any) -> dict[str, Any]:
    return {"app_order": list(APPS), **values}


def plans(cur: Cursor) -> dict[str, Plan]:
    cur.execute("SELECT code, name, apps FROM plans ORDER BY monthly_price_cents, code")
    return {code: Plan(code, name, tuple(apps)) for code, name, apps in cur.fetchall()}


def find(cur: Cursor, reference: uuid.UUID | str) -> Tenant | None:
    """By id (a UUID) or by slug (a string)."""
    column = "id" if isinstance(reference, uuid.UUID) else "slug"
    cur.execute(f"{_SELECT} WHERE t.{column} = %(ref)s", _params(ref=str(reference)))
    row = cur.fetchone()
    return Tenant.from_row(row) if row else None


def find_for_request(cur: Cursor, slug: str, key: str | None) -> list[Tenant]:
    """Tenants holding `slug` or the Idempotency-Key `key`: none, one, or two different ones."""
    cur.execute(
        f"{_SELECT} WHERE t.slug = %(slug)s OR t.idempotency_key = %(key)s ORDER BY t.created_at",
        _params(slug=slug, key=key),
    )
    return [Tenant.from_row(row) for row in cur.fetchall()]


def admin_email_in_use(cur: Cursor, email: str) -> bool:
    """Whether a tenant of any status has `email` as its admin. Compared in lower case: rows
    written before admin emails were lower-cased may keep the local part's case."""
    cur.execute(
        "SELECT EXISTS (SELECT FROM tenants WHERE lower(admin_email) = lower(%(email)s))",
        {"email": email},
    )
    row = cur.fetchone()
    return bool(row and row[0])


def insert_tenant(
    cur: Cursor,
    request: dict[str, Any],
    key: str | None,
    request_hash: str,
    owner: uuid.UUID,
) -> uuid.UUID | None:
    """The tenant row with its first step recorded and the lease held, or None if the slug or
    the key is taken (then the caller looks at who holds it)."""
    cur.execute(
        "INSERT INTO tenants (slug, name, admin_email, plan_code, status, idempotency_key,"
        " request_hash, onboarding_request, provisioning_steps, lease_owner, lease_expires_at)"
        " VALUES (%(slug)s, %(name)s, %(email)s, %(plan)s, 'provisioning', %(key)s, %(hash)s,"
        " %(request)s, jsonb_build_object('tenant', now()), %(owner)s,"
        " now() + make_interval(secs => %(lease)s))"
        " ON CONFLICT DO NOTHING RETURNING id",
        {
            "slug": request["slug"],
            "name": request["name"],
            "email": request["admin_email"],
            "plan": request["plan"],
            "key": key,
            "hash": request_hash,
            "request": Json(request),
            "owner": str(owner),
            "lease": LEASE_SECONDS,
        },
    )
    row = cur.fetchone()
    return uuid.UUID(str(row[0])) if row else None


def claim(
    cur: Cursor,
    tenant_id: uuid.UUID,
    owner: uuid.UUID,
    from_statuses: Sequence[str],
    to_status: str,
) -> Tenant | None:
    """Take the tenant's lease when it is free (or expired) and its status is one of
    `from_statuses`; None when another request holds it or the status does not allow it."""
    cur.execute(
        "UPDATE tenants SET lease_owner = %(owner)s,"
        " lease_expires_at = now() + make_interval(secs => %(lease)s), status = %(to)s,"
        " failed_step = NULL, failure_reason = NULL"
        " WHERE id = %(id)s AND status = ANY(%(from)s)"
        " AND (lease_expires_at IS NULL OR lease_expires_at < now())",
        {
            "owner": str(owner),
            "lease": LEASE_SECONDS,
            "to": to_status,
            "id": str(tenant_id),
            "from": list(from_statuses),
        },
    )
    if cur.rowcount != 1:
        return None
    return find(cur, tenant_id)


def record_step(
    cur: Cursor, tenant_id: uuid.UUID, owner: uuid.UUID, column: StepColumn | None, step: str
) -> None:
    """Mark `step` done in `column` (None: keep no record) and renew the lease; LeaseLostError,
    and so a rollback of the unit of work, when this request no longer holds the tenant."""
    if column not in ("provisioning_steps", "offboarding_steps", None):
        raise ValueError(f"step column {column!r} is not a step record")
    record = f"{column} = {column} || jsonb_build_object(%(step)s::text, now())," if column else ""
    cur.execute(
        f"UPDATE tenants SET {record}"
        " lease_expires_at = now() + make_interval(secs => %(lease)s)"
        " WHERE id = %(id)s AND lease_owner = %(owner)s",
        {"step": step, "lease": LEASE_SECONDS, "id": str(tenant_id), "owner": str(owner)},
    )
    if cur.rowcount != 1:
        raise LeaseLostError(f"tenant {tenant_id} is no longer held by request {owner}")


def _release(cur: Cursor, tenant_id: uuid.UUID, owner: uuid.UUID, sets: str, **values: Any) -> None:
    cur.execute(
        f"UPDATE tenants SET lease_owner = NULL, lease_expires_at = NULL, {sets}"
        " WHERE id = %(id)s AND lease_owner = %(owner)s",
        {**values, "id": str(tenant_id), "owner": str(owner)},
    )
    if cur.rowcount != 1:
        raise LeaseLostError(f"tenant {tenant_id} is no longer held by request {owner}")


def activate(cur: Cursor, tenant_id: uuid.UUID, owner: uuid.UUID, response: dict[str, Any]) -> None:
    """Onboarding finished: status active, the 201 body kept for replays, the lease freed."""
    _release(
        cur,
        tenant_id,
        owner,
        "status = 'active', activated_at = coalesce(activated_at, now()),"
        " onboarding_response = %(response)s, failed_step = NULL, failure_reason = NULL",
        response=Json(response),
    )


def mark_offboarded(cur: Cursor, tenant_id: uuid.UUID, owner: uuid.UUID) -> None:
    _release(
        cur,
        tenant_id,
        owner,
        "status = 'offboarded', offboarded_at = coalesce(offboarded_at, now()),"
        " failed_step = NULL, failure_reason = NULL",
    )


def release(cur: Cursor, tenant_id: uuid.UUID, owner: uuid.UUID) -> None:
    """The work finished without changing the status (a plan or app change)."""
    _release(cur, tenant_id, owner, "failed_step = NULL, failure_reason = NULL")


def mark_failed(
    cur: Cursor, tenant_id: uuid.UUID, owner: uuid.UUID, status: str, step: str, reason: str
) -> None:
    """Record where and why the work stopped, and free the tenant for a retry."""
    _release(
        cur,
        tenant_id,
        owner,
        "status = %(status)s, failed_step = %(step)s, failure_reason = %(reason)s",
        status=status,
        step=step,
        reason=reason[:1000],
    )


def outbox(cur: Cursor, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    cur.execute("SELECT outbox FROM tenants WHERE id = %(id)s", {"id": str(tenant_id)})
    row = cur.fetchone()
    return list(row[0]) if row else []


def page(cur: Cursor, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Tenant]:
    """Up to `limit` tenants after the sort key `after`, in (created_at, id) order."""
    if after is None:
        cur.execute(f"{_SELECT} ORDER BY t.created_at, t.id LIMIT %(limit)s", _params(limit=limit))
    else:
        cur.execute(
            f"{_SELECT} WHERE (t.created_at, t.id) > (%(at)s, %(id)s::uuid)"
            " ORDER BY t.created_at, t.id LIMIT %(limit)s",
            _params(at=after[0], id=str(after[1]), limit=limit),
        )
    return [Tenant.from_row(row) for row in cur.fetchall()]
