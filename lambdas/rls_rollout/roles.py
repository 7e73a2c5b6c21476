"""The roles of one database and what each must look like; pure, tested without a server.

Names come from `lambdas.shared.databases`. A prefix exists only so that tests can bootstrap
throwaway databases on the shared local server, where role names are cluster-wide and the
platform's own roles already exist; deployed code always uses the empty prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lambdas.shared.databases import ALL_TENANTS_ROLE, CORE, Access, check_database, role_name

_PREFIX = re.compile(r"^(?:[a-z][a-z0-9_]{0,30}_)?$")
# Roles that row-level security binds and that administer nothing.
BOUND_OPTIONS = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


@dataclass(frozen=True)
class RoleSpec:
    """One role: its name, whether it logs in, whether it inherits, and who it serves."""

    name: str
    login: bool
    inherit: bool
    access: Access | None

    @property
    def options(self) -> str:
        login = "LOGIN" if self.login else "NOLOGIN"
        inherit = "INHERIT" if self.inherit else "NOINHERIT"
        return f"{login} {inherit} {BOUND_OPTIONS}"


@dataclass(frozen=True)
class DatabaseRoles:
    """The owner, the runtime role, the usage reader (apps) and the all-tenants role (core)."""

    database: str
    owner: str
    runtime: str
    usage: str | None = None
    all_tenants: str | None = None

    @property
    def specs(self) -> tuple[RoleSpec, ...]:
        specs = [
            RoleSpec(self.owner, login=False, inherit=True, access=Access.OWNER),
            # The control-plane role must not inherit the all-tenants role: it switches to it
            # one transaction at a time (SET LOCAL ROLE).
            RoleSpec(self.runtime, login=True, inherit=self.all_tenants is None, access=Access.APP),
        ]
        if self.usage:
            specs.append(RoleSpec(self.usage, login=True, inherit=True, access=Access.USAGE))
        if self.all_tenants:
            specs.append(RoleSpec(self.all_tenants, login=False, inherit=False, access=None))
        return tuple(specs)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.specs)

    @property
    def readers(self) -> tuple[str, ...]:
        """Roles besides the owner that may connect to the database and use its schema."""
        return tuple(spec.name for spec in self.specs if spec.access is not Access.OWNER)

    @property
    def memberships(self) -> frozenset[tuple[str, str]]:
        """(granted role, member) pairs among these roles: only all-tenants to control plane."""
        if self.all_tenants:
            return frozenset({(self.all_tenants, self.runtime)})
        return frozenset()


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ValueError(
            f"role prefix {prefix!r} is invalid: use '' or lowercase letters, digits and "
            "underscores that start with a letter and end with '_' (at most 32 characters)"
        )
    return prefix


def database_roles(database: str, prefix: str = "") -> DatabaseRoles:
    """The roles of `database`: `crm_owner`, `crm_app`, `crm_usage`; core's control plane."""
    check_database(database)
    check_prefix(prefix)
    owner = prefix + role_name(database, Access.OWNER)
    runtime = prefix + role_name(database, Access.APP)
    if database == CORE:
        return DatabaseRoles(database, owner, runtime, all_tenants=prefix + ALL_TENANTS_ROLE)
    return DatabaseRoles(database, owner, runtime, usage=prefix + role_name(database, Access.USAGE))
