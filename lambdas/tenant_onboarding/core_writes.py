"""Writes to the tenant-owned tables of the core database, each safe to repeat.

Every statement names its tenant explicitly and runs in the control-plane unit of work of a
step, together with that step's record on the tenant row (the registry, which only the
cross-tenant unit can write). Each converges on natural keys: one active subscription per
tenant, one entitlement per app, one role per name, so a retried step adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from psycopg2.extras import Json

from lambdas.shared.db import Cursor

TENANT_ADMIN_ROLE = "tenant_admin"
TENANT_ADMIN_PERMISSION = "tenant:admin"


def default_roles(apps: Iterable[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Role name -> (description, permissions): the tenant admin, and an editor and a viewer
    per app."""
    roles: dict[str, tuple[str, tuple[str, ...]]] = {
        TENANT_ADMIN_ROLE: ("Manages the tenant: users, roles, apps", (TENANT_ADMIN_PERMISSION,))
    }
    for app in apps:
        roles[f"{app}:editor"] = (f"Reads and writes {app}", (f"{app}:read", f"{app}:write"))
        roles[f"{app}:viewer"] = (f"Reads {app}", (f"{app}:read",))
    return roles


def ensure_roles(cur: Cursor, tenant_id: uuid.UUID, apps: Iterable[str]) -> None:
    for name, (description, permissions) in default_roles(apps).items():
        cur.execute(
            "INSERT INTO roles (tenant_id, name, description, is_system)"
            " VALUES (%(tenant)s, %(name)s, %(description)s, true)"
            " ON CONFLICT (tenant_id, name) DO NOTHING",
            {"tenant": str(tenant_id), "name": name, "description": description},
        )
        cur.execute(
            "INSERT INTO role_permissions (tenant_id, role_id, permission_code)"
            " SELECT r.tenant_id, r.id, p.code FROM roles AS r"
            " CROSS JOIN unnest(%(permissions)s::text[]) AS p(code)"
            " WHERE r.tenant_id = %(tenant)s AND r.name = %(name)s"
            " ON CONFLICT DO NOTHING",
            {"tenant": str(tenant_id), "name": name, "permissions": list(permissions)},
        )


def assign_role(cur: Cursor, tenant_id: uuid.UUID, user_id: str, role: str) -> None:
    cur.execute(
        "INSERT INTO user_role_assignments (tenant_id, user_id, role_id)"
        " SELECT tenant_id, %(user)s, id FROM roles"
        " WHERE tenant_id = %(tenant)s AND name = %(role)s"
        " ON CONFLICT DO NOTHING",
        {"tenant": str(tenant_id), "user": user_id, "role": role},
    )
    if cur.rowcount == 0:
        cur.execute(
            "SELECT 1 FROM user_role_assignments AS a JOIN roles AS r"
            " ON r.tenant_id = a.tenant_id AND r.id = a.role_id"
            " WHERE a.tenant_id = %(tenant)s AND a.user_id = %(user)s AND r.name = %(role)s",
            {"tenant": str(tenant_id), "user": user_id, "role": role},
        )
        if cur.fetchone() is None:
            raise LookupError(f"role {role!r} of tenant {tenant_id} does not exist")


def ensure_subscription(cur: Cursor, tenant_id: uuid.UUID, plan: str) -> None:
    """One active subscription on `plan`: an active one on another plan is cancelled first."""
    cur.execute(
        "UPDATE subscriptions SET status = 'cancelled', cancelled_at = now()"
        " WHERE tenant_id = %(tenant)s AND status = 'active' AND plan_code <> %(plan)s",
        {"tenant": str(tenant_id), "plan": plan},
    )
    cur.execute(
        "INSERT INTO subscriptions (tenant_id, plan_code) VALUES (%(tenant)s, %(plan)s)"
        " ON CONFLICT (tenant_id) WHERE status = 'active' DO NOTHING",
        {"tenant": str(tenant_id), "plan": plan},
    )


def cancel_subscription(cur: Cursor, tenant_id: uuid.UUID) -> None:
    cur.execute(
        "UPDATE subscriptions SET status = 'cancelled', cancelled_at = now()"
        " WHERE tenant_id = %(tenant)s AND status = 'active'",
        {"tenant": str(tenant_id)},
    )


def grant_apps(cur: Cursor, tenant_id: uuid.UUID, apps: Iterable[str]) -> None:
    """Granted again after a revocation, an app is provisioned again (provisioned_at cleared)."""
    cur.execute(
        "INSERT INTO app_entitlements (tenant_id, app)"
        " SELECT %(tenant)s, app FROM unnest(%(apps)s::text[]) AS app"
        " ON CONFLICT (tenant_id, app) DO UPDATE"
        " SET status = 'granted', revoked_at = NULL, granted_at = now(), provisioned_at = NULL"
        " WHERE app_entitlements.status = 'revoked'",
        {"tenant": str(tenant_id), "apps": list(apps)},
    )


def revoke_apps(cur: Cursor, tenant_id: uuid.UUID, apps: Iterable[str]) -> None:
    cur.execute(
        "UPDATE app_entitlements SET status = 'revoked', revoked_at = now()"
        " WHERE tenant_id = %(tenant)s AND app = ANY(%(apps)s) AND status = 'granted'",
        {"tenant": str(tenant_id), "apps": list(apps)},
    )


def mark_provisioned(cur: Cursor, tenant_id: uuid.UUID, app: str) -> None:
    cur.execute(
        "UPDATE app_entitlements SET provisioned_at = coalesce(provisioned_at, now())"
        " WHERE tenant_id = %(tenant)s AND app = %(app)s AND status = 'granted'",
        {"tenant": str(tenant_id), "app": app},
    )


def unprovisioned_apps(cur: Cursor, tenant_id: uuid.UUID) -> list[str]:
    cur.execute(
        "SELECT app FROM app_entitlements WHERE tenant_id = %(tenant)s"
        " AND status = 'granted' AND provisioned_at IS NULL ORDER BY app",
        {"tenant": str(tenant_id)},
    )
    return [str(row[0]) for row in cur.fetchall()]


def set_plan(cur: Cursor, tenant_id: uuid.UUID, plan: str) -> None:
    cur.execute(
        "UPDATE tenants SET plan_code = %(plan)s WHERE id = %(tenant)s AND plan_code <> %(plan)s",
        {"tenant": str(tenant_id), "plan": plan},
    )


def audit(
    cur: Cursor,
    tenant_id: uuid.UUID,
    action: str,
    actor: str,
    correlation_id: str | None,
    details: Mapping[str, Any],
) -> None:
    cur.execute(
        "INSERT INTO audit_log (tenant_id, actor, action, correlation_id, details)"
        " VALUES (%(tenant)s, %(actor)s, %(action)s, %(correlation)s, %(details)s)",
        {
            "tenant": str(tenant_id),
            "actor": actor[:200] or "unknown",
            "action": action,
            "correlation": correlation_id,
            "details": Json(dict(details)),
        },
    )


def enqueue_event(cur: Cursor, tenant_id: uuid.UUID, event: Mapping[str, Any]) -> None:
    """Add `event` to the tenant's outbox, in the transaction of the change it reports."""
    cur.execute(
        "UPDATE tenants SET outbox = outbox || jsonb_build_array(%(event)s::jsonb)"
        " WHERE id = %(tenant)s",
        {"tenant": str(tenant_id), "event": Json(dict(event))},
    )


def dequeue_events(cur: Cursor, tenant_id: uuid.UUID, event_ids: Iterable[str]) -> None:
    cur.execute(
        "UPDATE tenants SET outbox = coalesce((SELECT jsonb_agg(e ORDER BY n)"
        " FROM jsonb_array_elements(outbox) WITH ORDINALITY AS x(e, n)"
        " WHERE NOT (e ->> 'id' = ANY(%(ids)s))), '[]'::jsonb) WHERE id = %(tenant)s",
        {"tenant": str(tenant_id), "ids": list(event_ids)},
    )
