"""POST /tenants: create a tenant, or resume or replay the same request.

The tenant row is the idempotency record. A request is named by its Idempotency-Key when it
has one, else by its body (a hash of the validated request): the same request finds its
tenant and resumes the steps left (or replays the stored 201 body); a different request for a
taken slug gets 409; a key reused with a different body gets 422. The unique slug and key make
concurrent requests converge on one row, and the lease makes one of them do the work.

Limitation: a request whose input cannot work (an SSO metadata URL Cognito cannot read) fails
the same way on every retry, and a different request for the slug is a 409. Workaround: fix
what the request points at (the IdP) and repeat it, or offboard the failed tenant and onboard
under another slug (slugs are never reused). https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from lambdas.shared.db import Cursor
from lambdas.tenant_onboarding import core_writes, documents, identity, registry, repository
from lambdas.tenant_onboarding.connections import core
from lambdas.tenant_onboarding.errors import (
    ApiError,
    FieldError,
    conflict,
    in_progress,
)
from lambdas.tenant_onboarding.lifecycle import (
    Caller,
    audit_step,
    check_plan_and_apps,
    manifest,
    plan_catalog,
    publish_step,
)
from lambdas.tenant_onboarding.repository import Tenant
from lambdas.tenant_onboarding.settings import (
    LEASE_POLL_SECONDS,
    LEASE_WAIT_SECONDS,
    Settings,
)
from lambdas.tenant_onboarding.steps import Step, StepRunner

if TYPE_CHECKING:
    from lambdas.tenant_onboarding.models import CreateTenant

logger = Logger(child=True)

RESUMABLE = ("provisioning", "failed")


@dataclass(frozen=True)
class Created:
    body: dict[str, Any]
    replayed: bool


CREATED_FIELDS = ("tenant_id", "slug", "status", "plan", "apps")


def created_body(tenant: Tenant, plan: str, apps: Sequence[str]) -> dict[str, Any]:
    values = (str(tenant.id), tenant.slug, "active", plan, list(apps))
    return dict(zip(CREATED_FIELDS, values, strict=True))


def stored_body(tenant: Tenant) -> dict[str, Any]:
    """The 201 body kept at activation, in its first key order (jsonb keeps keys sorted)."""
    stored = tenant.onboarding_response or {}
    return {key: stored[key] for key in CREATED_FIELDS if key in stored}


def _same_request(
    holders: Sequence[Tenant], slug: str, key: str | None, request_hash: str
) -> Tenant | None:
    """The tenant of this very request, None if there is none, or 409/422."""
    for tenant in holders:
        if key is not None and tenant.idempotency_key == key:
            if tenant.request_hash != request_hash:
                raise ApiError(
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    "this Idempotency-Key was used with a different request body",
                )
            return tenant
    for tenant in holders:
        if tenant.slug == slug:
            if tenant.request_hash == request_hash and key in (None, tenant.idempotency_key):
                return tenant
            raise conflict(
                "the slug belongs to a tenant made by a different request",
                [FieldError("slug", "is taken")],
            )
    return None


def _admin_email_taken(settings: Settings, email: str) -> bool:
    """An email is the admin of one tenant for good: the core database names every tenant's
    admin (offboarded ones too), and Cognito keeps one user per email, which belongs to one
    tenant (a pool can hold users the core database does not know of, and the reverse)."""
    with core().as_control_plane() as cur:
        if repository.admin_email_in_use(cur, email):
            return True
    return identity.find_user(settings.user_pool_id, email) is not None


def _email_conflict() -> ApiError:
    return conflict(
        "the admin email belongs to a user of another tenant",
        [FieldError("admin_email", "is already a user of another tenant")],
    )


def _steps(tenant: Tenant, settings: Settings, caller: Caller, owner: uuid.UUID) -> list[Step]:
    request = tenant.onboarding_request or {}
    plan, apps, sso = request["plan"], list(request["apps"]), request.get("sso")
    tenant_id, pool = tenant.id, settings.user_pool_id

    def subscription(cur: Cursor, _: object) -> None:
        core_writes.ensure_subscription(cur, tenant_id, plan)
        core_writes.grant_apps(cur, tenant_id, apps)

    def roles(cur: Cursor, _: object) -> None:
        core_writes.ensure_roles(cur, tenant_id, apps)

    def assign_admin(cur: Cursor, user: identity.User) -> None:
        core_writes.assign_role(cur, tenant_id, user.sub, core_writes.TENANT_ADMIN_ROLE)

    def app_step(app: str) -> Step:
        def inside(cur: Cursor, _: object) -> None:
            core_writes.mark_provisioned(cur, tenant_id, app)

        return Step(
            f"app:{app}",
            outside=lambda: registry.register(app, tenant_id, tenant.slug),
            inside=inside,
        )

    def activate(cur: Cursor, _: object) -> None:
        repository.activate(cur, tenant_id, owner, created_body(tenant, plan, apps))

    details = {"slug": tenant.slug, "plan": plan, "apps": apps, "sso": sso["type"] if sso else None}
    return [
        Step("tenant"),
        Step("subscription", inside=subscription),
        Step("roles", inside=roles),
        Step(
            "admin_user",
            outside=lambda: identity.ensure_admin_user(pool, tenant_id, tenant.admin_email),
            inside=assign_admin,
        ),
        *(app_step(app) for app in apps),
        Step(
            "manifest",
            outside=lambda: documents.put_manifest(
                settings.document_bucket, tenant_id, manifest(tenant, plan, apps)
            ),
        ),
        *(
            [Step("sso", outside=lambda: identity.ensure_identity_provider(pool, tenant_id, sso))]
            if sso
            else []
        ),
        audit_step(tenant_id, caller, "tenant.onboarded", "TenantOnboarded", details),
        publish_step(tenant_id, settings.event_bus_name),
        Step("active", inside=activate),
    ]


def _provision(tenant: Tenant, settings: Settings, caller: Caller, owner: uuid.UUID) -> Created:
    runner = StepRunner(
        tenant.id, owner, "provisioning_steps", frozenset(tenant.provisioning_steps), "failed"
    )
    runner.run_for_request(
        _steps(tenant, settings, caller, owner),
        "onboarding stopped; the tenant is marked failed and repeating the request resumes it",
    )
    request = tenant.onboarding_request or {}
    logger.info("tenant onboarded", extra={"slug": tenant.slug})
    return Created(created_body(tenant, request["plan"], request["apps"]), replayed=False)


def create_tenant(request: CreateTenant, key: str | None, caller: Caller) -> Created:
    settings = Settings.from_env()
    apps = check_plan_and_apps(plan_catalog(), request.plan, request.apps)
    request_hash = request.request_hash()
    stored = {**request.model_dump(mode="json"), "apps": apps}
    owner = uuid.uuid4()
    deadline = time.monotonic() + LEASE_WAIT_SECONDS
    while True:
        with core().as_control_plane() as cur:
            holders = repository.find_for_request(cur, request.slug, key)
        tenant = _same_request(holders, request.slug, key, request_hash)
        if tenant is None and _admin_email_taken(settings, request.admin_email):
            # A concurrent run of this very request may have made its tenant and admin since
            # the look-up above: only if it did not is the email another tenant's.
            with core().as_control_plane() as cur:
                holders = repository.find_for_request(cur, request.slug, key)
            tenant = _same_request(holders, request.slug, key, request_hash)
            if tenant is None:
                raise _email_conflict()
        if tenant is None:
            with core().as_control_plane() as cur:
                tenant_id = repository.insert_tenant(cur, stored, key, request_hash, owner)
                tenant = repository.find(cur, tenant_id) if tenant_id else None
            if tenant is not None:
                logger.append_keys(tenant_id=str(tenant.id))
                logger.info("tenant created", extra={"slug": tenant.slug})
                return _provision(tenant, settings, caller, owner)
        else:
            logger.append_keys(tenant_id=str(tenant.id))
            if tenant.status in ("offboarding", "offboarded"):
                raise conflict("the tenant made by this request has been offboarded")
            if tenant.status == "active" and tenant.onboarding_response is not None:
                logger.info("onboarding replayed", extra={"slug": tenant.slug})
                return Created(stored_body(tenant), replayed=True)
            with core().as_control_plane() as cur:
                claimed = repository.claim(cur, tenant.id, owner, RESUMABLE, "provisioning")
            if claimed is not None:
                logger.info(
                    "onboarding resumed", extra={"steps": sorted(claimed.provisioning_steps)}
                )
                return _provision(claimed, settings, caller, owner)
        if time.monotonic() >= deadline:
            raise in_progress()
        time.sleep(LEASE_POLL_SECONDS)
