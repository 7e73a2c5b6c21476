"""What the three kinds of tenant work share: who asked, the step names, the manifest, the
catalog checks, finding a tenant, and publishing the outbox."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.shared.db import Cursor
from lambdas.tenant_onboarding import core_writes, events, repository
from lambdas.tenant_onboarding.connections import core
from lambdas.tenant_onboarding.errors import invalid_field, not_found
from lambdas.tenant_onboarding.repository import Plan, Tenant
from lambdas.tenant_onboarding.settings import APPS, TENANT_ID_SHAPE
from lambdas.tenant_onboarding.steps import Step

_SLUG_SHAPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")

ONBOARDING_HEAD = ("tenant", "subscription", "roles", "admin_user")
ONBOARDING_TAIL = ("audit", "event", "active")
OFFBOARDING_STEPS = (
    "users",
    "sso",
    *(f"app:{app}" for app in APPS),
    "documents",
    "subscription",
    "audit",
    "event",
    "offboarded",
)


@dataclass(frozen=True)
class Caller:
    """Who made the request (for the audit log) and its correlation id (API Gateway's)."""

    actor: str
    correlation_id: str | None


def onboarding_step_names(apps: Iterable[str], sso: bool) -> list[str]:
    return [
        *ONBOARDING_HEAD,
        *(f"app:{app}" for app in apps),
        "manifest",
        *(["sso"] if sso else []),
        *ONBOARDING_TAIL,
    ]


def parse_reference(reference: str) -> uuid.UUID | str | None:
    """A tenant id or a slug; None for anything that cannot name a tenant."""
    if TENANT_ID_SHAPE.match(reference):
        return uuid.UUID(reference)
    if _SLUG_SHAPE.match(reference):
        return reference
    return None


def find_tenant(reference: str) -> Tenant:
    parsed = parse_reference(reference)
    if parsed is None:
        raise not_found()
    with core().as_control_plane() as cur:
        tenant = repository.find(cur, parsed)
    if tenant is None:
        raise not_found()
    return tenant


def plan_catalog() -> dict[str, Plan]:
    with core().as_control_plane() as cur:
        return repository.plans(cur)


def check_plan_and_apps(
    catalog: Mapping[str, Plan], plan: str, apps: Sequence[str] | None, *, kept: bool = False
) -> list[str]:
    """The apps the tenant gets: `apps`, or the plan's when None; 400 if not allowed.

    `kept` says `apps` are the ones the tenant has, not ones the request chose (a PATCH of the
    plan alone): the 400 then names `plan`, the field the request did send."""
    if plan not in catalog:
        raise invalid_field("plan", f"unknown plan '{plan}'; choose one of: {', '.join(catalog)}")
    allowed = catalog[plan].apps
    chosen = list(allowed) if apps is None else list(apps)
    outside = [app for app in chosen if app not in allowed]
    if outside and kept:
        raise invalid_field(
            "plan",
            f"plan '{plan}' does not include {', '.join(outside)}, which the tenant has; it "
            f"includes {', '.join(allowed)} (to revoke the others, send 'apps' as well)",
        )
    if outside:
        raise invalid_field(
            "apps",
            f"plan '{plan}' does not include {', '.join(outside)}; it includes "
            f"{', '.join(allowed)}",
        )
    return sorted(chosen, key=APPS.index)


def manifest(tenant: Tenant, plan: str, apps: Sequence[str]) -> dict[str, Any]:
    request = tenant.onboarding_request or {}
    sso = request.get("sso")
    return {
        "tenant_id": str(tenant.id),
        "slug": tenant.slug,
        "name": tenant.name,
        "plan": plan,
        "apps": list(apps),
        "sso": {"type": sso["type"]} if sso else None,
        "created_at": tenant.created_at.isoformat(),
    }


def audit_step(
    tenant_id: uuid.UUID,
    caller: Caller,
    action: str,
    detail_type: str,
    details: Mapping[str, Any],
) -> Step:
    """The audit entry and the event reporting it, committed together (the outbox)."""

    def inside(cur: Cursor, _: object) -> None:
        core_writes.audit(cur, tenant_id, action, caller.actor, caller.correlation_id, details)
        core_writes.enqueue_event(cur, tenant_id, events.new_event(detail_type, tenant_id, details))

    return Step("audit", inside=inside)


def publish_step(tenant_id: uuid.UUID, bus_name: str, name: str = "event") -> Step:
    """Publish whatever the outbox holds, and take it out in the step's transaction."""

    def outside() -> list[str]:
        with core().as_control_plane() as cur:
            pending = repository.outbox(cur, tenant_id)
        return events.publish(bus_name, pending) if pending else []

    def inside(cur: Cursor, published: list[str]) -> None:
        if published:
            core_writes.dequeue_events(cur, tenant_id, published)

    return Step(name, outside=outside, inside=inside)
