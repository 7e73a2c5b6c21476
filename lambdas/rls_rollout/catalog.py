"""Reads what the rollout needs from one database's catalog, in a handful of queries.

Tenant tables are every ordinary or partitioned table (partitions included) with a `tenant_id`
column, in any schema but the system ones, that no extension owns. Expressions of existing
policies come back as the server deparses them; the canonical policies are deparsed the same
way by creating them on a temporary table in a transaction that is rolled back, so comparing
the two is exact whatever the server version and without parsing SQL here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from lambdas.shared.db import Connection
from policies.rls.sql import PolicySpec, QualifiedName, create_policy

# Objects the rollout has converged once, by schema-qualified name: drift is a deviation on one
# of them. Maintenance: a renamed table is new under its new name, so a hand edit made together
# with a rename is reported as a change rather than as drift; the next run reports drift again.
COVERAGE_TABLE = "rls_rollout_coverage"
_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
_TRUE_OPTIONS = {"true", "on", "yes", "1"}

_FROM_RELATIONS = "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
_USER_RELATION = """
n.nspname NOT IN ('pg_catalog', 'information_schema')
AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
AND NOT EXISTS (
    SELECT 1 FROM pg_depend AS d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
)
"""

_TENANT_RELATIONS = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispartition,
       coalesce(root.relname, c.relname), c.relrowsecurity, c.relforcerowsecurity,
       format_type(a.atttypid, a.atttypmod)
{_FROM_RELATIONS}
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
LEFT JOIN pg_class AS root ON root.oid = pg_partition_root(c.oid)
WHERE c.relkind IN ('r', 'p', 'm') AND {_USER_RELATION}
ORDER BY n.nspname, c.relname
"""

_VIEWS = f"""
SELECT c.oid, n.nspname, c.relname, coalesce(c.reloptions, '{{}}')
{_FROM_RELATIONS}
WHERE c.relkind = 'v' AND {_USER_RELATION}
ORDER BY n.nspname, c.relname
"""

_NAMED_TABLES = f"""
SELECT c.oid, n.nspname, c.relname
{_FROM_RELATIONS}
WHERE c.relkind IN ('r', 'p') AND c.relname = ANY(%(names)s)
  AND n.nspname = ANY(current_schemas(false)) AND {_USER_RELATION}
ORDER BY n.nspname, c.relname
"""

_POLICIES = """
SELECT p.polrelid, p.polname, p.polcmd, p.polpermissive,
       ARRAY(SELECT r.rolname FROM pg_roles AS r WHERE r.oid = ANY(p.polroles) ORDER BY 1),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy AS p
WHERE p.polrelid = ANY(%(oids)s)
ORDER BY p.polrelid, p.polname
"""

# Privileges granted to anyone but the owner; grantee 0 is PUBLIC.
_GRANTS = """
SELECT c.oid, coalesce(r.rolname, 'PUBLIC'), acl.privilege_type
FROM pg_class AS c
CROSS JOIN LATERAL aclexplode(c.relacl) AS acl
LEFT JOIN pg_roles AS r ON r.oid = acl.grantee
WHERE c.oid = ANY(%(oids)s) AND acl.grantee <> c.relowner
"""

_TRANSIENT_SPECS_TABLE = "rls_rollout_canonical"


@dataclass(frozen=True)
class Policy:
    """A policy as the server stores it; `roles` empty means PUBLIC."""

    name: str
    command: str
    permissive: bool
    roles: frozenset[str]
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class TenantTable:
    oid: int
    name: QualifiedName
    base_name: str
    kind: str
    is_partition: bool
    tenant_id_type: str
    rls_enabled: bool
    rls_forced: bool
    policies: tuple[Policy, ...]
    grants: dict[str, frozenset[str]]

    @property
    def is_materialized_view(self) -> bool:
        return self.kind == "m"


@dataclass(frozen=True)
class View:
    oid: int
    name: QualifiedName
    security_invoker: bool
    grants: dict[str, frozenset[str]]


@dataclass(frozen=True)
class CatalogTable:
    """A table without tenant_id whose grants the profile names (core catalog tables)."""

    oid: int
    name: QualifiedName
    grants: dict[str, frozenset[str]]


@dataclass(frozen=True)
class DatabaseState:
    tables: tuple[TenantTable, ...]
    views: tuple[View, ...]
    catalog_tables: tuple[CatalogTable, ...]
    covered: frozenset[str]
    canonical: dict[str, Policy]


def _policies(conn: Connection, oids: list[int]) -> dict[int, list[Policy]]:
    found: dict[int, list[Policy]] = defaultdict(list)
    with conn.cursor() as cur:
        cur.execute(_POLICIES, {"oids": oids})
        for relid, name, cmd, permissive, roles, using, check in cur.fetchall():
            found[relid].append(
                Policy(name, _COMMANDS[cmd], permissive, frozenset(roles), using, check)
            )
    return found


def _grants(conn: Connection, oids: list[int]) -> dict[int, dict[str, frozenset[str]]]:
    collected: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with conn.cursor() as cur:
        cur.execute(_GRANTS, {"oids": oids})
        for oid, grantee, privilege in cur.fetchall():
            collected[oid][grantee].add(privilege)
    return {
        oid: {grantee: frozenset(privs) for grantee, privs in by_role.items()}
        for oid, by_role in collected.items()
    }


def _is_security_invoker(options: list[str]) -> bool:
    values = dict(option.split("=", 1) for option in options if "=" in option)
    return values.get("security_invoker", "false").lower() in _TRUE_OPTIONS


def _covered(conn: Connection) -> frozenset[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (COVERAGE_TABLE,))
        row = cur.fetchone()
        if not row or not row[0]:
            return frozenset()
        cur.execute(f"SELECT object_name FROM {COVERAGE_TABLE}")
        return frozenset(name for (name,) in cur.fetchall())


def deparse(conn: Connection, specs: Iterable[PolicySpec]) -> dict[str, Policy]:
    """The canonical policies exactly as this server stores them, with nothing left behind."""
    probe = QualifiedName("pg_temp", _TRANSIENT_SPECS_TABLE)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE TEMPORARY TABLE {_TRANSIENT_SPECS_TABLE} (tenant_id uuid)")
            for spec in specs:
                cur.execute(create_policy(spec, probe))
            cur.execute("SELECT %s::regclass::oid", (f"pg_temp.{_TRANSIENT_SPECS_TABLE}",))
            row = cur.fetchone()
            assert row is not None
            policies = _policies(conn, [row[0]])[row[0]]
    finally:
        conn.rollback()
    return {policy.name: policy for policy in policies}


def read_state(
    conn: Connection, specs: Iterable[PolicySpec], catalog_names: Iterable[str]
) -> DatabaseState:
    """Everything the planner compares, read in one snapshot (one read-only transaction)."""
    canonical = deparse(conn, specs)
    try:
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute(_TENANT_RELATIONS, {})
            table_rows = cur.fetchall()
            cur.execute(_VIEWS, {})
            view_rows = cur.fetchall()
            cur.execute(_NAMED_TABLES, {"names": sorted(set(catalog_names))})
            catalog_rows = cur.fetchall()
        oids = [r[0] for r in table_rows] + [r[0] for r in view_rows] + [r[0] for r in catalog_rows]
        policies = _policies(conn, oids)
        grants = _grants(conn, oids)
        covered = _covered(conn)
    finally:
        conn.rollback()
    tables = tuple(
        TenantTable(
            oid=oid,
            name=QualifiedName(schema, name),
            base_name=base,
            kind=kind,
            is_partition=is_partition,
            tenant_id_type=tenant_type,
            rls_enabled=enabled,
            rls_forced=forced,
            policies=tuple(policies.get(oid, ())),
            grants=grants.get(oid, {}),
        )
        for oid, schema, name, kind, is_partition, base, enabled, forced, tenant_type in table_rows
    )
    views = tuple(
        View(oid, QualifiedName(schema, name), _is_security_invoker(options), grants.get(oid, {}))
        for oid, schema, name, options in view_rows
    )
    catalog = tuple(
        CatalogTable(oid, QualifiedName(schema, name), grants.get(oid, {}))
        for oid, schema, name in catalog_rows
    )
    return DatabaseState(tables, views, catalog, covered, canonical)
