"""DELETE /tenants/{tenant}: offboard a tenant, as resumable steps; repeating it is harmless.

Users are disabled (which revokes their tokens), the SSO provider removed, the registry row
deleted as the tenant in every app database (the cascade takes all its rows, including those
of apps revoked earlier), every version under its S3 prefix deleted, the subscription
cancelled and the apps revoked; then the audit entry, the event and the final status. The
tenant row stays (status offboarded), so its slug is never reused.
"""

from __future__ import annotations

import uuid

from aws_lambda_powertools import Logger

from lambdas.shared.db import Cursor
from lambdas.tenant_onboarding import core_writes, documents, identity, registry, repository
from lambdas.tenant_onboarding.connections import core
from lambdas.tenant_onboarding.errors import in_progress
from lambdas.tenant_onboarding.lifecycle import Caller, audit_step, find_tenant, publish_step
from lambdas.tenant_onboarding.repository import Tenant
from lambdas.tenant_onboarding.settings import APPS, Settings
from lambdas.tenant_onboarding.steps import Step, StepRunner

logger = Logger(child=True)

OFFBOARDABLE = ("active", "failed", "provisioning", "offboarding")


def _app_step(app: str, tenant_id: uuid.UUID) -> Step:
    return Step(f"app:{app}", outside=lambda: registry.remove(app, tenant_id))


def _steps(tenant: Tenant, settings: Settings, caller: Caller, owner: uuid.UUID) -> list[Step]:
    tenant_id, pool = tenant.id, settings.user_pool_id

    def subscription(cur: Cursor, _: object) -> None:
        core_writes.cancel_subscription(cur, tenant_id)
        core_writes.revoke_apps(cur, tenant_id, APPS)

    def offboarded(cur: Cursor, _: object) -> None:
        repository.mark_offboarded(cur, tenant_id, owner)

    return [
        Step("users", outside=lambda: identity.disable_tenant_users(pool, tenant_id)),
        Step("sso", outside=lambda: identity.delete_identity_provider(pool, tenant_id)),
        *(_app_step(app, tenant_id) for app in APPS),
        Step(
            "documents",
            outside=lambda: documents.delete_prefix(
                settings.document_bucket, documents.tenant_prefix(tenant_id)
            ),
        ),
        Step("subscription", inside=subscription),
        audit_step(
            tenant_id, caller, "tenant.offboarded", "TenantOffboarded", {"slug": tenant.slug}
        ),
        publish_step(tenant_id, settings.event_bus_name),
        Step("offboarded", inside=offboarded),
    ]


def offboard_tenant(reference: str, caller: Caller) -> Tenant:
    settings = Settings.from_env()
    tenant = find_tenant(reference)
    logger.append_keys(tenant_id=str(tenant.id))
    if tenant.status == "offboarded":
        return tenant
    owner = uuid.uuid4()
    with core().as_control_plane() as cur:
        claimed = repository.claim(cur, tenant.id, owner, OFFBOARDABLE, "offboarding")
    if claimed is None:
        raise in_progress()
    runner = StepRunner(
        claimed.id, owner, "offboarding_steps", frozenset(claimed.offboarding_steps), "offboarding"
    )
    runner.run_for_request(
        _steps(claimed, settings, caller, owner),
        "offboarding stopped; repeating the request resumes it",
    )
    logger.info("tenant offboarded", extra={"slug": tenant.slug})
    return find_tenant(str(tenant.id))
