"""`make demo` forgets only tenants it created itself (scripts/demo_onboarding.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from lambdas.shared.databases import CORE, Access
from lambdas.shared.db import Database
from scripts.demo_onboarding import Api, OnboardingError, Reply, TenantSpec, forget_stale
from tests.lambdas.usage_aggregation.platform_support import TenantFactory, core_query


class FoundApi:
    """The control-plane API as forget_stale uses it: every GET finds `tenant_id`."""

    def __init__(self, tenant_id: str) -> None:
        self.function = SimpleNamespace(environment={"USER_POOL_ID": "eu-west-1_pool"})
        self.tenant_id = tenant_id

    def call(self, method: str, path: str, *args: Any) -> Reply:
        return Reply(200, {"tenant_id": self.tenant_id}, {})


def found(tenant_id: str) -> Api:
    return cast(Api, FoundApi(tenant_id))


class EmptyPool:
    """A user pool that lost its users (moto restarted)."""

    def list_users(self, **kwargs: Any) -> dict[str, list[Any]]:
        return {"Users": []}


@pytest.fixture
def tenants(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TenantFactory]:
    for name, value in platform_env.items():
        monkeypatch.setenv(name, value)
    factory = TenantFactory()
    yield factory
    factory.remove_all()


def spec(slug: str) -> TenantSpec:
    return TenantSpec({"slug": slug, "admin_email": f"ops@{slug}.example.com"}, 0, {})


def exists(tenant_id: str) -> bool:
    return bool(core_query("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)))


def test_a_tenant_the_demo_did_not_create_stops_the_demo_and_is_kept(
    tenants: TenantFactory, platform_env: dict[str, str]
) -> None:
    tenant_id = tenants.create("acme")

    with pytest.raises(OnboardingError, match="that `make demo` did not create"):
        forget_stale(found(tenant_id), [spec(tenants.slug("acme"))], EmptyPool(), platform_env)

    assert exists(tenant_id)


def test_a_demo_tenant_whose_admin_user_is_gone_is_forgotten(
    tenants: TenantFactory, platform_env: dict[str, str]
) -> None:
    tenant_id = tenants.create("globex")
    demo_tenant = spec(tenants.slug("globex"))
    owner = Database(CORE, Access.OWNER)
    try:
        with owner.without_tenant() as cur:
            cur.execute(
                "UPDATE tenants SET idempotency_key = %s, request_hash = 'demo' WHERE id = %s",
                (demo_tenant.idempotency_key, tenant_id),
            )
    finally:
        owner.close()

    forgotten = forget_stale(found(tenant_id), [demo_tenant], EmptyPool(), platform_env)

    assert forgotten == [demo_tenant.slug]
    assert not exists(tenant_id)
