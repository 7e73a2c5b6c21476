"""The canonical row-level security predicates and the DDL that installs them, as text.

Pure functions of names: no database and no driver, so they are tested on their own and the
rollout, the tests and a reviewer read the same definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TENANT_SETTING = "app.tenant_id"
PUBLIC = "PUBLIC"

# `current_setting(..., true)` is NULL or '' when no tenant is set; nullif turns '' into NULL,
# so `tenant_id = NULL` matches no row, never every row and never an error. The scalar
# sub-select is planned as an InitPlan: evaluated once per statement, not once per row, and
# usable as an index condition on the tenant_id index.
#
# Maintenance: row-level security filters rows, not the planner's statistics. pg_stats hides
# RLS tables from roles the policies bind, but EXPLAIN shows row estimates computed from the
# whole table, so a role that can run arbitrary SQL learns approximate table sizes. Workaround:
# only the platform's services hold runtime credentials; tenants never get SQL access.
# https://www.postgresql.org/docs/15/ddl-rowsecurity.html
CURRENT_TENANT = f"(SELECT nullif(current_setting('{TENANT_SETTING}', true), '')::uuid)"
TENANT_PREDICATE = f"tenant_id = {CURRENT_TENANT}"
# For roles that read every tenant by design. A constant `true` also lets the planner drop the
# tenant predicate it is OR-ed with, so those roles keep their index plans.
ALL_ROWS = "true"

COMMANDS = ("ALL", "SELECT", "INSERT", "UPDATE", "DELETE")
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def quote_ident(name: str) -> str:
    """An SQL identifier, always double-quoted, with embedded quotes doubled."""
    if not name or "\x00" in name:
        raise ValueError(f"identifier {name!r} is empty or contains NUL")
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, order=True)
class QualifiedName:
    schema: str
    name: str

    @property
    def sql(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class PolicySpec:
    """One permissive policy. `roles` empty means PUBLIC (every role, the owner included)."""

    name: str
    command: str
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ValueError(f"PolicySpec.command = {self.command!r}; allowed: {COMMANDS}")
        if self.command in ("SELECT", "DELETE") and self.with_check is not None:
            raise ValueError(f"policy {self.name!r}: {self.command} takes no WITH CHECK")
        if self.command == "INSERT" and self.using is not None:
            raise ValueError(f"policy {self.name!r}: INSERT takes no USING")


def _role_list(roles: Iterable[str]) -> str:
    names = [PUBLIC if role == PUBLIC else quote_ident(role) for role in roles]
    return ", ".join(names) or PUBLIC


def create_policy(spec: PolicySpec, table: QualifiedName) -> str:
    parts = [
        f"CREATE POLICY {quote_ident(spec.name)} ON {table.sql} AS PERMISSIVE",
        f"FOR {spec.command} TO {_role_list(spec.roles)}",
    ]
    if spec.using is not None:
        parts.append(f"USING ({spec.using})")
    if spec.with_check is not None:
        parts.append(f"WITH CHECK ({spec.with_check})")
    return " ".join(parts)


def drop_policy(name: str, table: QualifiedName) -> str:
    return f"DROP POLICY {quote_ident(name)} ON {table.sql}"


def enable_rls(table: QualifiedName) -> str:
    return f"ALTER TABLE {table.sql} ENABLE ROW LEVEL SECURITY"


def force_rls(table: QualifiedName) -> str:
    return f"ALTER TABLE {table.sql} FORCE ROW LEVEL SECURITY"


def set_security_invoker(view: QualifiedName) -> str:
    return f"ALTER VIEW {view.sql} SET (security_invoker = true)"


def _check_privileges(privileges: Iterable[str]) -> list[str]:
    wanted = set(privileges)
    unknown = wanted - set(PRIVILEGES)
    if unknown or not wanted:
        raise ValueError(f"privileges {sorted(unknown)} are unknown or none; allowed: {PRIVILEGES}")
    return sorted(wanted, key=PRIVILEGES.index)


def grant(privileges: Iterable[str], table: QualifiedName, role: str) -> str:
    chosen = _check_privileges(privileges)
    return f"GRANT {', '.join(chosen)} ON TABLE {table.sql} TO {_role_list([role])}"


def revoke(privileges: Iterable[str], table: QualifiedName, role: str) -> str:
    chosen = _check_privileges(privileges)
    return f"REVOKE {', '.join(chosen)} ON TABLE {table.sql} FROM {_role_list([role])}"
