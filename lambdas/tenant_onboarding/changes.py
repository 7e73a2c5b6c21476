"""PATCH /tenants/{tenant}: change the plan or the apps of an active tenant.

A new plan without `apps` keeps every app the tenant has and grants the plan's others; if
the plan lacks one the tenant has, the answer is a 400 naming `plan` and nothing changes, so a
downgrade that revokes apps has to name the apps to keep.

The wanted state (plan, subscription, entitlements, audit entry, outbox event) is committed
in one transaction; the apps granted but not yet provisioned are then provisioned one by one,
the manifest rewritten and the outbox published. A change that stopped part way leaves
granted apps without `provisioned_at`; repeating the request (or any later change) finishes
them. A revoked app keeps its data in its database; granting it again reuses it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from lambdas.shared.db import Cursor
from lambdas.tenant_onboarding import core_writes, documents, registry, repository
from lambdas.tenant_onboarding.connections import core
from lambdas.tenant_onboarding.errors import conflict, in_progress, unfinished
from lambdas.tenant_onboarding.lifecycle import (
    Caller,
    audit_step,
    check_plan_and_apps,
    find_tenant,
    manifest,
    plan_catalog,
    publish_step,
)
from lambdas.tenant_onboarding.repository import LeaseLostError, Tenant
from lambdas.tenant_onboarding.settings import APPS, Settings
from lambdas.tenant_onboarding.steps import Step, StepFailedError, StepRunner

if TYPE_CHECKING:
    from lambdas.tenant_onboarding.models import UpdateTenant

logger = Logger(child=True)


def _steps(
    tenant: Tenant,
    plan: str,
    apps: list[str],
    settings: Settings,
    caller: Caller,
    owner: uuid.UUID,
) -> list[Step]:
    tenant_id = tenant.id
    added = [app for app in apps if app not in tenant.apps]
    removed = [app for app in tenant.apps if app not in apps]
    steps: list[Step] = []
    if plan != tenant.plan or added or removed:

        def change(cur: Cursor, _: object) -> None:
            core_writes.set_plan(cur, tenant_id, plan)
            core_writes.ensure_subscription(cur, tenant_id, plan)
            core_writes.grant_apps(cur, tenant_id, added)
            core_writes.revoke_apps(cur, tenant_id, removed)
            core_writes.ensure_roles(cur, tenant_id, apps)

        details = {"plan": plan, "previous_plan": tenant.plan, "added": added, "removed": removed}
        steps += [
            Step("change", inside=change),
            audit_step(tenant_id, caller, "tenant.updated", "TenantUpdated", details),
        ]
    steps.append(Step("provision", outside=lambda: _provision_pending(tenant)))
    steps.append(
        Step(
            "manifest",
            outside=lambda: documents.put_manifest(
                settings.document_bucket, tenant_id, manifest(tenant, plan, apps)
            ),
        )
    )
    steps.append(publish_step(tenant_id, settings.event_bus_name))

    def done(cur: Cursor, _: object) -> None:
        repository.release(cur, tenant_id, owner)

    steps.append(Step("done", inside=done))
    return steps


def _provision_pending(tenant: Tenant) -> None:
    """Register the tenant in every granted app that has no registry row yet."""
    with core().as_control_plane() as cur:
        pending = core_writes.unprovisioned_apps(cur, tenant.id)
    for app in sorted(pending, key=APPS.index):
        registry.register(app, tenant.id, tenant.slug)
        with core().as_control_plane() as cur:
            core_writes.mark_provisioned(cur, tenant.id, app)


def update_tenant(reference: str, change: UpdateTenant, caller: Caller) -> Tenant:
    settings = Settings.from_env()
    tenant = find_tenant(reference)
    logger.append_keys(tenant_id=str(tenant.id))
    if tenant.status != "active":
        raise conflict(f"the tenant is {tenant.status}; only an active tenant can change")
    catalog = plan_catalog()
    plan = change.plan or tenant.plan
    if change.apps is not None:
        apps = check_plan_and_apps(catalog, plan, change.apps)
    else:
        # The plan alone never revokes an app: the tenant's must all be in the new plan (a 400
        # naming `plan` otherwise, as POST answers for the same plan and apps), which then
        # grants its other apps too.
        apps = check_plan_and_apps(catalog, plan, tenant.apps, kept=True)
        if plan != tenant.plan:
            apps = check_plan_and_apps(catalog, plan, None)
    owner = uuid.uuid4()
    with core().as_control_plane() as cur:
        claimed = repository.claim(cur, tenant.id, owner, ("active",), "active")
    if claimed is None:
        raise in_progress()
    runner = StepRunner(claimed.id, owner, None, frozenset(), "active")
    try:
        runner.run(_steps(claimed, plan, apps, settings, caller, owner))
    except StepFailedError as exc:
        raise unfinished(
            "the change stopped; repeating the request finishes it",
            str(tenant.id),
            exc.step,
            "active",
            exc.reason,
        ) from exc
    except LeaseLostError as exc:
        raise in_progress() from exc
    logger.info("tenant updated", extra={"plan": plan, "apps": apps})
    return find_tenant(str(tenant.id))
