"""Canonical row-level security: predicates, policies, grants, and the DDL that sets them."""

from policies.rls.profiles import (
    CONTROL_PLANE_POLICY,
    TENANT_POLICY,
    USAGE_READER_POLICY,
    USAGE_TABLE,
    DatabaseProfile,
    app_profile,
    core_profile,
)
from policies.rls.sql import (
    TENANT_PREDICATE,
    TENANT_SETTING,
    PolicySpec,
    QualifiedName,
)

__all__ = [
    "CONTROL_PLANE_POLICY",
    "TENANT_POLICY",
    "TENANT_PREDICATE",
    "TENANT_SETTING",
    "USAGE_READER_POLICY",
    "USAGE_TABLE",
    "DatabaseProfile",
    "PolicySpec",
    "QualifiedName",
    "app_profile",
    "core_profile",
]
