"""The six databases, the three kinds of access to each, and the names derived from them.

Every other module asks this one for a database's roles and environment variable names, so the
local platform, the Lambdas and the tests agree on them without typing them twice.
"""

from __future__ import annotations

from enum import StrEnum

CORE = "core"
APP_DATABASES: tuple[str, ...] = ("crm", "hr", "accounting", "inventory", "affiliate")
DATABASES: tuple[str, ...] = (CORE, *APP_DATABASES)

# The core database's runtime role is the control-plane service role (onboarding, usage).
# It logs in bound to one tenant like any runtime role; for cross-tenant work it switches, one
# transaction at a time (SET LOCAL ROLE), to ALL_TENANTS_ROLE, which it is a NOINHERIT member
# of and which nobody can log in as.
CONTROL_PLANE_ROLE = "core_control_plane"
ALL_TENANTS_ROLE = "core_all_tenants"


class Access(StrEnum):
    """Who connects: the owner (migrations, rollout), the runtime role, or the usage reader."""

    OWNER = "owner"
    APP = "app"
    USAGE = "usage"


class UnknownDatabaseError(ValueError):
    """A database name or an access kind that the platform does not have."""


def check_database(database: str) -> str:
    if database not in DATABASES:
        raise UnknownDatabaseError(
            f"database {database!r} is unknown; allowed: {', '.join(DATABASES)}"
        )
    return database


def has_access(database: str, access: Access) -> bool:
    """The core database has no usage reader: usage is read from the five app databases."""
    return not (check_database(database) == CORE and access is Access.USAGE)


def _check_access(database: str, access: Access) -> None:
    if not has_access(database, access):
        allowed = ", ".join(a.value for a in Access if has_access(database, a))
        raise UnknownDatabaseError(
            f"database {database!r} has no {access.value!r} access; allowed: {allowed}"
        )


def role_name(database: str, access: Access) -> str:
    """`crm_owner`, `crm_app`, `crm_usage`; the core runtime role is the control-plane role."""
    _check_access(database, access)
    if database == CORE and access is Access.APP:
        return CONTROL_PLANE_ROLE
    return f"{database}_{access.value}"


def _variable_stem(database: str, access: Access) -> str:
    _check_access(database, access)
    stem = f"{database.upper()}_DB"
    return stem if access is Access.OWNER else f"{stem}_{access.value.upper()}"


def dsn_variable(database: str, access: Access) -> str:
    """`CRM_DB_DSN` (owner), `CRM_DB_APP_DSN` (runtime role), `CRM_DB_USAGE_DSN`."""
    return f"{_variable_stem(database, access)}_DSN"


def secret_variable(database: str, access: Access) -> str:
    """`CRM_DB_SECRET_ARN` (owner), `CRM_DB_APP_SECRET_ARN`, `CRM_DB_USAGE_SECRET_ARN`."""
    return f"{_variable_stem(database, access)}_SECRET_ARN"


def accesses(database: str) -> tuple[Access, ...]:
    return tuple(access for access in Access if has_access(database, access))
