"""The canonical state of every tenant table and view of a database: policies and grants.

App databases: one policy, `tenant_isolation`, for every command and every role (PUBLIC, so the
owner is bound too once RLS is forced); the runtime role may read and write rows but never
TRUNCATE (which row-level security does not filter), REFERENCES or TRIGGER; the usage reader
reads `usage_events` (and its partitions) of all tenants through `usage_reader_read` and can
read nothing else.

Core database: the same `tenant_isolation` policy binds the control-plane role when it logs in.
The control plane must create, list and bill tenants, so it also works across tenants, through
`control_plane_access`, a policy scoped as narrowly as PostgreSQL allows: it names one role,
the all-tenants role, that nobody can log in as; the control-plane role is its only member,
without inheriting from it, so the power exists only inside a transaction that switches to it
(`SET LOCAL ROLE`, the data-access helper's `as_control_plane()`). A role switch rather than a
setting tested inside the policy keeps each policy a constant or a single comparison, so both
modes keep their index plans. Grants are per table: `audit_log` is append-only; the catalog
tables are read-only except `tenants`, which is never deleted (offboarding sets a status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from policies.rls.sql import ALL_ROWS, TENANT_PREDICATE, PolicySpec

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
# Grants of the all-tenants role on the core catalog tables (no tenant_id, so no RLS).
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
    all_tenants: str | None = None
    catalog_privileges: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def table_policies(self, base_table: str) -> tuple[PolicySpec, ...]:
        """Policies of a tenant table; `base_table` is the partition root's name for partitions."""
        policies = [TENANT_ISOLATION]
        if self.all_tenants:
            policies.append(
                PolicySpec(
                    name=CONTROL_PLANE_POLICY,
                    command="ALL",
                    roles=(self.all_tenants,),
                    using=ALL_ROWS,
                    with_check=ALL_ROWS,
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
        if self.all_tenants:
            privileges = CONTROL_PLANE_TABLE_PRIVILEGES.get(base_table, READ_WRITE)
            return {self.runtime: privileges, self.all_tenants: privileges}
        grants = {self.runtime: READ_WRITE}
        if self.usage_reader and base_table == USAGE_TABLE:
            grants[self.usage_reader] = READ_ONLY
        return grants

    def view_grants(self) -> dict[str, frozenset[str]]:
        """Views run with the caller's rights (security_invoker): the runtime roles read them."""
        readers = [self.runtime, *([self.all_tenants] if self.all_tenants else [])]
        return {role: READ_ONLY for role in readers}

    def catalog_grants(self, table: str) -> dict[str, frozenset[str]]:
        if not self.all_tenants:
            return {}
        return {self.all_tenants: self.catalog_privileges[table]}


def app_profile(database: str, *, owner: str, runtime: str, usage_reader: str) -> DatabaseProfile:
    return DatabaseProfile(database, owner, runtime, usage_reader=usage_reader)


def core_profile(
    database: str, *, owner: str, control_plane_role: str, all_tenants_role: str
) -> DatabaseProfile:
    return DatabaseProfile(
        database,
        owner,
        control_plane_role,
        all_tenants=all_tenants_role,
        catalog_privileges=CONTROL_PLANE_CATALOG_PRIVILEGES,
    )
