"""The tenant's registry row in each app database, written as that tenant by the runtime role.

Every tenant-owned row of an app references the registry row with ON DELETE CASCADE, so
deleting it (as the tenant, through row-level security) removes all of the tenant's data there.
"""

from __future__ import annotations

import uuid

from lambdas.tenant_onboarding.connections import database


def register(app: str, tenant_id: uuid.UUID, slug: str) -> None:
    with database(app).as_tenant(tenant_id) as cur:
        cur.execute(
            "INSERT INTO tenants (tenant_id, slug) VALUES (%(tenant)s, %(slug)s)"
            " ON CONFLICT (tenant_id) DO NOTHING",
            {"tenant": str(tenant_id), "slug": slug},
        )


def remove(app: str, tenant_id: uuid.UUID) -> int:
    with database(app).as_tenant(tenant_id) as cur:
        cur.execute("DELETE FROM tenants WHERE tenant_id = %(tenant)s", {"tenant": str(tenant_id)})
        return int(cur.rowcount)
