"""The demo tenants (scripts/demo_tenants.json), onboarded through the control-plane API.

Each tenant is created with `POST /tenants` and an Idempotency-Key of its own, so a second
`make demo` replays the same request and gets the same 201 body back instead of a second
tenant; its status is read with `GET /tenants/{slug}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lambdas.shared.databases import APP_DATABASES, CORE, Access
from lambdas.shared.db import Database
from scripts.demo_functions import Function, api_event, invoke

TENANTS_FILE = Path(__file__).with_name("demo_tenants.json")


@dataclass(frozen=True)
class TenantSpec:
    """A tenant of the demo: its POST /tenants body and the traffic it makes in a day."""

    request: Mapping[str, Any]
    daily_requests: int
    app_events: Mapping[str, int]

    @property
    def slug(self) -> str:
        return str(self.request["slug"])

    @property
    def idempotency_key(self) -> str:
        return f"make-demo-{self.slug}"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]

    @property
    def replayed(self) -> bool:
        return self.headers.get("Idempotent-Replayed") == "true"


@dataclass
class Onboarded:
    created: dict[str, Reply] = field(default_factory=dict)  # slug -> POST reply
    status: dict[str, Reply] = field(default_factory=dict)  # slug -> GET reply
    replay: Reply | None = None

    def tenant_ids(self) -> dict[str, str]:
        return {slug: str(reply.body["tenant_id"]) for slug, reply in self.created.items()}

    def apps(self) -> dict[str, tuple[str, ...]]:
        return {slug: tuple(reply.body["apps"]) for slug, reply in self.status.items()}


class OnboardingError(RuntimeError):
    """The API refused a demo tenant or left it in a state other than active."""


def load_tenants(path: Path = TENANTS_FILE) -> list[TenantSpec]:
    data = json.loads(path.read_text())
    return [
        TenantSpec(item["request"], int(item["daily_requests"]), dict(item["app_events"]))
        for item in data["tenants"]
    ]


@dataclass(frozen=True)
class Api:
    """Calls of the control-plane API, delivered to the onboarding function in-process."""

    function: Function
    api_id: str
    account: str
    region: str
    log: TextIO

    def __post_init__(self) -> None:
        """A cold start: no client or connection of an earlier environment is reused."""
        from lambdas.tenant_onboarding import aws, connections

        aws.reset_clients()
        connections.close_thread_connections()

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        event = api_event(
            method,
            path,
            api_id=self.api_id,
            account=self.account,
            region=self.region,
            body=body,
            headers=headers,
        )
        response = invoke(self.function, event, self.log)
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = values[-1]
        return Reply(int(response["statusCode"]), json.loads(response.get("body") or "{}"), headers)


def forget_stale(
    api: Api, tenants: Sequence[TenantSpec], cognito: Any, platform_env: Mapping[str, str]
) -> list[str]:
    """Remove demo tenants whose admin user the emulator no longer holds, so that they are
    onboarded afresh: moto keeps everything in memory and a restart loses the users and
    documents, while PostgreSQL keeps the tenants. Returns the slugs removed.

    Only a tenant the demo created (its Idempotency-Key) is removed; a tenant of the same
    slug made any other way stops the demo with OnboardingError, and nothing is deleted."""
    pool_id = api.function.environment["USER_POOL_ID"]
    forgotten = []
    for tenant in tenants:
        found = api.call("GET", f"/tenants/{tenant.slug}")
        if found.status != 200:
            continue
        tenant_id = str(found.body["tenant_id"])
        if _idempotency_key(tenant_id, platform_env) != tenant.idempotency_key:
            raise OnboardingError(
                f"the local platform has a tenant {tenant.slug!r} that `make demo` did not "
                f"create (id {tenant_id}), and the demo's tenants (scripts/demo_tenants.json) "
                f"need that slug; the demo deletes only its own tenants, and an offboarded "
                f"tenant keeps its slug. Start from empty local data: `make down`, then remove "
                f"the PostgreSQL cluster directory (`python -m scripts.local_platform status` "
                f"names it as 'postgres data'; remove its parent)"
            )
        email = str(tenant.request["admin_email"])
        users = cognito.list_users(UserPoolId=pool_id, Filter=f'email = "{email}"')["Users"]
        if users:
            continue
        _remove(tenant_id, platform_env)
        forgotten.append(tenant.slug)
    return forgotten


def _idempotency_key(tenant_id: str, platform_env: Mapping[str, str]) -> str | None:
    """The Idempotency-Key the tenant was created with (None without one)."""
    core = Database(CORE, Access.OWNER, environ=platform_env)
    try:
        with core.without_tenant() as cur:
            cur.execute("SELECT idempotency_key FROM tenants WHERE id = %s", (tenant_id,))
            row = cur.fetchone()
    finally:
        core.close()
    return str(row[0]) if row and row[0] is not None else None


def _remove(tenant_id: str, platform_env: Mapping[str, str]) -> None:
    """Every row of the tenant: as the tenant in each app database (the registry row's
    cascade), then its core row as the owner."""
    for app in APP_DATABASES:
        database = Database(app, Access.APP, environ=platform_env)
        try:
            with database.as_tenant(tenant_id) as cur:
                cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (tenant_id,))
        finally:
            database.close()
    core = Database(CORE, Access.OWNER, environ=platform_env)
    try:
        with core.without_tenant() as cur:
            cur.execute("DELETE FROM tenants WHERE id = %s", (tenant_id,))
    finally:
        core.close()


def onboard(api: Api, tenants: Sequence[TenantSpec]) -> Onboarded:
    """POST each tenant, GET its status, then POST the first one again (a replay)."""
    result = Onboarded()
    for tenant in tenants:
        reply = _create(api, tenant)
        result.created[tenant.slug] = reply
        status = api.call("GET", f"/tenants/{tenant.slug}")
        _expect(status, 200, f"GET /tenants/{tenant.slug}")
        if status.body.get("status") != "active":
            failed = status.body.get("failed_step")
            raise OnboardingError(
                f"tenant {tenant.slug} is {status.body.get('status')!r}"
                + (f" (failed step {failed})" if failed else "")
                + "; `make demo` again resumes it"
            )
        result.status[tenant.slug] = status
    result.replay = _create(api, tenants[0])
    return result


def _create(api: Api, tenant: TenantSpec) -> Reply:
    reply = api.call(
        "POST", "/tenants", tenant.request, {"Idempotency-Key": tenant.idempotency_key}
    )
    _expect(reply, 201, f"POST /tenants ({tenant.slug})")
    return reply


def _expect(reply: Reply, status: int, what: str) -> None:
    if reply.status != status:
        raise OnboardingError(
            f"{what} answered {reply.status}, expected {status}: {json.dumps(reply.body)}"
        )
