"""The canonical state of every tenant table and view of a database: policies and grants.

App databases: one policy, `tenant_isolation`, for every command and every role (PUBLIC, so the
owner is bound too once RLS is forced); the runtime role may read and write rows but never
TRUNCATE (which row-level security does not filter), REFERENCES or TRIGGER; the usage reader
reads `usage_events` (and its partitions) of all tenants through `usage_reader_read` and can
read nothing else.

Core database: the same `tenant_isolation` policy, plus `control_plane_access` for the
control-plane role only. The control plane must create, list and bill tenants, so it reads and
writes across tenants; the policy is scoped twice so that power is not ambient: it names that
one role, and it applies only in a transaction that sets `app.control_plane` (the data-access
helper's `as_control_plane()`), so the same role in a tenant-scoped unit of work is bound to the
tenant like anyone else. Its grants are per table: `audit_log` is append-only, the catalog
tables are read-only except `tenants`, which is never deleted (offboarding sets a status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from policies.rls.sql import (
    ALL_ROWS,
    CONTROL_PLANE_PREDICATE,
    TENANT_PREDICATE,
    PolicySpec,
)

TENANT_POLICY = "tenant_isolation"
USAGE_READER_POLICY = "usage_reader_read"
CONTROL_PLANE_POLICY = "control_plane_access"
USAGE_TABLE = "usage_events"

READ_WRITE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
READ_ONLY = frozenset({"SELECT"})

# Control-plane grants on tenant tables of the core database that differ from READ_WRITE.
CONTROL_PLANE_TABLE_PRIVILEGES: Mapping[str, frozenset[str]] = {
    "audit_log": frozenset({"SELECT", "INSERT"}),
}
# Control-plane grants on the core catalog tables (no tenant_id, so no row-level security).
CONTROL_PLANE_CATALOG_PRIVILEGES: Mapping[str, frozenset[str]] = {
    "tenants": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "plans": READ_ONLY,
    "plan_quotas": READ_ONLY,
    "permissions": READ_ONLY,
}

TENANT_ISOLATION = PolicySpec(
    name=TENANT_POLICY, command="ALL", roles=(), using=TENANT_PREDICATE, with_check=TENANT_PREDICATE
)


@dataclass(frozen=True)
class DatabaseProfile:
    """What the rollout converges a database to, given its role names."""

    database: str
    owner: str
    runtime: str
    usage_reader: str | None = None
    control_plane: bool = False
    catalog_privileges: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def table_policies(self, base_table: str) -> tuple[PolicySpec, ...]:
        """Policies of a tenant table; `base_table` is the partition root's name for partitions."""
        policies = [TENANT_ISOLATION]
        if self.control_plane:
            policies.append(
                PolicySpec(
                    name=CONTROL_PLANE_POLICY,
                    command="ALL",
                    roles=(self.runtime,),
                    using=CONTROL_PLANE_PREDICATE,
                    with_check=CONTROL_PLANE_PREDICATE,
                )
            )
        if self.usage_reader and base_table == USAGE_TABLE:
            policies.append(
                PolicySpec(
                    name=USAGE_READER_POLICY,
                    command="SELECT",
                    roles=(self.usage_reader,),
                    using=ALL_ROWS,
                    with_check=None,
                )
            )
        return tuple(policies)

    def table_grants(self, base_table: str) -> dict[str, frozenset[str]]:
        runtime = READ_WRITE
        if self.control_plane:
            runtime = CONTROL_PLANE_TABLE_PRIVILEGES.get(base_table, READ_WRITE)
        grants = {self.runtime: runtime}
        if self.usage_reader and base_table == USAGE_TABLE:
            grants[self.usage_reader] = READ_ONLY
        return grants

    def view_grants(self) -> dict[str, frozenset[str]]:
        """Views run with the caller's rights (security_invoker): the runtime role reads them."""
        return {self.runtime: READ_ONLY}


def app_profile(database: str, *, owner: str, runtime: str, usage_reader: str) -> DatabaseProfile:
    return DatabaseProfile(database, owner, runtime, usage_reader=usage_reader)


def core_profile(database: str, *, owner: str, control_plane_role: str) -> DatabaseProfile:
    return DatabaseProfile(
        database,
        owner,
        control_plane_role,
        control_plane=True,
        catalog_privileges=CONTROL_PLANE_CATALOG_PRIVILEGES,
    )
