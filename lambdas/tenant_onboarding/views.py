"""Response bodies of the tenant API, built from the tenant row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lambdas.tenant_onboarding.lifecycle import OFFBOARDING_STEPS, onboarding_step_names
from lambdas.tenant_onboarding.repository import Tenant


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _steps(names: list[str], done: dict[str, str]) -> list[dict[str, Any]]:
    """Planned steps in order with when each finished (null: not yet), then any other step
    recorded (e.g. by an earlier version of the plan)."""
    listed = names + sorted(set(done) - set(names))
    return [{"name": name, "done_at": done.get(name)} for name in listed]


def summary(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant_id": str(tenant.id),
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "plan": tenant.plan,
        "apps": list(tenant.apps),
        "created_at": _time(tenant.created_at),
    }


def detail(tenant: Tenant) -> dict[str, Any]:
    request = tenant.onboarding_request or {}
    sso = request.get("sso")
    planned = onboarding_step_names(request.get("apps", []), bool(sso)) if request else []
    body = {
        **summary(tenant),
        "admin_email": tenant.admin_email,
        "sso": {"type": sso["type"]} if sso else None,
        "activated_at": _time(tenant.activated_at),
        "offboarded_at": _time(tenant.offboarded_at),
        "failed_step": tenant.failed_step,
        "failure_reason": tenant.failure_reason,
        "steps": _steps(planned, tenant.provisioning_steps),
    }
    if tenant.status in ("offboarding", "offboarded") or tenant.offboarding_steps:
        body["offboarding_steps"] = _steps(list(OFFBOARDING_STEPS), tenant.offboarding_steps)
    return body


def page(tenants: list[Tenant], next_cursor: str | None) -> dict[str, Any]:
    return {"tenants": [summary(tenant) for tenant in tenants], "next_cursor": next_cursor}
