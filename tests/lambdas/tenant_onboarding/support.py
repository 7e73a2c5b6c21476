"""Sample events, a Lambda context, and counters of everything onboarding creates.

The counters read the real databases through the platform's own paths (the control plane in
the core database, the runtime role as the tenant in the app databases) and the moto
resources of the test, so a test can say "exactly one" of every row, user, object and event.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdas.shared.databases import APP_DATABASES, CORE, Access
from lambdas.shared.db import Database
from lambdas.tenant_onboarding import handler
from scripts.lambda_context import lambda_context

EVENTS = Path(__file__).resolve().parent / "events"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: dict[str, Any]

    def field_errors(self) -> dict[str, str]:
        return {error["field"]: error["message"] for error in self.body.get("errors", [])}


def sample_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def build_event(
    name: str,
    *,
    body: Mapping[str, Any] | str | None = None,
    tenant: str | None = None,
    headers: Mapping[str, str | None] | None = None,
    query: Mapping[str, str] | None = None,
    method: str | None = None,
) -> dict[str, Any]:
    """A copy of a sample event with its body, path tenant, headers or query replaced.

    A header given as None is removed."""
    event = copy.deepcopy(sample_event(name))
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if tenant is not None:
        event["path"] = f"/tenants/{tenant}"
        event["pathParameters"] = {"tenant": tenant}
        event["requestContext"]["path"] = f"/dev/tenants/{tenant}"
    for key, value in (headers or {}).items():
        if value is None:
            event["headers"].pop(key, None)
            event["multiValueHeaders"].pop(key, None)
        else:
            event["headers"][key] = value
            event["multiValueHeaders"][key] = [value]
    if query is not None:
        event["queryStringParameters"] = dict(query) or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    if method is not None:
        event["httpMethod"] = method
        event["requestContext"]["httpMethod"] = method
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    return event


def invoke(event: dict[str, Any]) -> Reply:
    response = handler.handler(event, lambda_context("platform-dev-tenant-onboarding"))
    body = json.loads(response["body"]) if response.get("body") else {}
    headers = {key.lower(): value for key, value in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = values[-1]
    return Reply(int(response["statusCode"]), headers, body)


def call(name: str, **changes: Any) -> Reply:
    return invoke(build_event(name, **changes))


def create(request: Mapping[str, Any]) -> Reply:
    """POST `request` with an Idempotency-Key of its own (the sample event's is shared)."""
    return call(
        "create_tenant.json", body=request, headers={"Idempotency-Key": f"key-{request['slug']}"}
    )


def new_request(tag: str, **overrides: Any) -> dict[str, Any]:
    """A valid POST body with a slug and email no other test (or earlier run) uses."""
    unique = uuid.uuid4().hex[:10]
    request: dict[str, Any] = {
        "name": f"{tag.title()} Ltd",
        "slug": f"{tag}-{unique}",
        "admin_email": f"admin+{unique}@{tag}.example.com",
        "plan": "growth",
        "apps": ["crm", "hr"],
    }
    request.update(overrides)
    return request


@dataclass
class Databases:
    """Readers of the local platform's databases, through the runtime paths."""

    env: Mapping[str, str]
    helpers: dict[tuple[str, Access], Database] = field(default_factory=dict)

    def helper(self, database: str, access: Access = Access.APP) -> Database:
        key = (database, access)
        if key not in self.helpers:
            self.helpers[key] = Database(database, access, environ=self.env)
        return self.helpers[key]

    def close(self) -> None:
        for helper in self.helpers.values():
            helper.close()

    def core_scalar(self, sql: str, params: Mapping[str, Any]) -> Any:
        with self.helper(CORE).as_control_plane() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row[0] if row else None

    def tenant_row(self, slug: str) -> dict[str, Any] | None:
        with self.helper(CORE).as_control_plane() as cur:
            cur.execute(
                "SELECT id::text, status, provisioning_steps, offboarding_steps, failed_step,"
                " failure_reason, outbox, lease_owner::text FROM tenants WHERE slug = %(slug)s",
                {"slug": slug},
            )
            row = cur.fetchone()
            names = [column.name for column in cur.description or ()]
        return dict(zip(names, row, strict=True)) if row else None

    def tenants_with_slug(self, slug: str) -> int:
        return int(self.core_scalar("SELECT count(*) FROM tenants WHERE slug = %(s)s", {"s": slug}))

    def core_counts(self, tenant_id: str) -> dict[str, int]:
        """Rows of the tenant in each tenant-owned table of the core database."""
        counts = {}
        queries = {
            "subscriptions": "SELECT count(*) FROM subscriptions WHERE tenant_id = %(t)s",
            "active_subscriptions": (
                "SELECT count(*) FROM subscriptions WHERE tenant_id = %(t)s AND status = 'active'"
            ),
            "granted_apps": (
                "SELECT count(*) FROM app_entitlements WHERE tenant_id = %(t)s"
                " AND status = 'granted'"
            ),
            "roles": "SELECT count(*) FROM roles WHERE tenant_id = %(t)s",
            "role_permissions": "SELECT count(*) FROM role_permissions WHERE tenant_id = %(t)s",
            "assignments": "SELECT count(*) FROM user_role_assignments WHERE tenant_id = %(t)s",
            "onboarded_audit": (
                "SELECT count(*) FROM audit_log WHERE tenant_id = %(t)s"
                " AND action = 'tenant.onboarded'"
            ),
            "offboarded_audit": (
                "SELECT count(*) FROM audit_log WHERE tenant_id = %(t)s"
                " AND action = 'tenant.offboarded'"
            ),
        }
        for name, sql in queries.items():
            counts[name] = int(self.core_scalar(sql, {"t": tenant_id}))
        return counts

    def app_rows(self, app: str, tenant_id: str) -> dict[str, int]:
        """Rows of the tenant in every table with a tenant_id of an app database, as the
        tenant through the runtime role."""
        with self.helper(app).as_tenant(tenant_id) as cur:
            cur.execute(
                "SELECT c.relname FROM pg_class AS c"
                " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
                " ORDER BY c.relname"
            )
            tables = [str(row[0]) for row in cur.fetchall()]
            counts = {}
            for table in tables:
                sql = f'SELECT count(*) FROM "{table}" WHERE tenant_id = %(t)s'
                cur.execute(sql, {"t": tenant_id})
                row = cur.fetchone()
                counts[table] = int(row[0]) if row else 0
        return counts

    def registry_rows(self, tenant_id: str) -> dict[str, int]:
        return {app: self.app_rows(app, tenant_id)["tenants"] for app in APP_DATABASES}

    def assert_provisioned_once(self, tenant_id: str, apps: tuple[str, ...]) -> None:
        """One of everything onboarding writes for an active tenant with `apps`: in core one
        subscription, the tenant admin role (one permission) plus an editor (read, write) and
        a viewer (read) per app, the admin's assignment and one audit entry; one registry row
        in the database of each of its apps and none in the others."""
        assert self.core_counts(tenant_id) == {
            "subscriptions": 1,
            "active_subscriptions": 1,
            "granted_apps": len(apps),
            "roles": 1 + 2 * len(apps),
            "role_permissions": 1 + 3 * len(apps),
            "assignments": 1,
            "onboarded_audit": 1,
            "offboarded_audit": 0,
        }
        assert self.registry_rows(tenant_id) == {app: int(app in apps) for app in APP_DATABASES}

    def remove_tenant(self, tenant_id: str) -> None:
        """Test clean-up: every row of the tenant, as the platform's offboarding and an owner."""
        for app in APP_DATABASES:
            with self.helper(app).as_tenant(tenant_id) as cur:
                cur.execute("DELETE FROM tenants WHERE tenant_id = %(t)s", {"t": tenant_id})
        with self.helper(CORE, Access.OWNER).without_tenant() as cur:
            cur.execute("DELETE FROM tenants WHERE id = %(t)s", {"t": tenant_id})
