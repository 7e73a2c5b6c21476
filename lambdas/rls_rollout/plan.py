"""Compares a database's state with its canonical profile; pure, so it is tested without a server.

Each object gets an `ObjectPlan`: the statements that converge it (policies first, then RLS
enabled, then forced, then grants), the changes to report, and the drift found. Drift is a
deviation on an object that an earlier run covered; an object never covered is new, and
converging it is a change but not drift. Problems the rollout cannot fix (a materialized view
holding tenant rows, a tenant_id that is not a uuid) are drift on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lambdas.rls_rollout.catalog import CatalogTable, DatabaseState, Policy, TenantTable, View
from policies.rls import DatabaseProfile
from policies.rls.sql import (
    PolicySpec,
    QualifiedName,
    create_policy,
    drop_policy,
    enable_rls,
    force_rls,
    grant,
    revoke,
    set_security_invoker,
)

TENANT_ID_TYPE = "uuid"


@dataclass(frozen=True)
class Change:
    database: str
    object: str
    action: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "database": self.database,
            "object": self.object,
            "action": self.action,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Drift:
    database: str
    object: str
    issue: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "database": self.database,
            "object": self.object,
            "issue": self.issue,
            "detail": self.detail,
        }


@dataclass
class ObjectPlan:
    database: str
    name: QualifiedName
    kind: str
    covered: bool
    record_coverage: bool = False
    statements: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)

    def fix(self, statement: str, action: str, detail: str, issue: str | None = None) -> None:
        """Plan `statement`; report it as a change, and as drift when the object was covered."""
        self.statements.append(statement)
        self.changes.append(Change(self.database, str(self.name), action, detail))
        if issue is not None and self.covered:
            self.drift.append(Drift(self.database, str(self.name), issue, detail))

    def problem(self, issue: str, detail: str) -> None:
        self.drift.append(Drift(self.database, str(self.name), issue, detail))

    @property
    def needs_transaction(self) -> bool:
        return bool(self.statements) or self.record_coverage


def _same(existing: Policy, canonical: Policy) -> bool:
    return (
        existing.command == canonical.command
        and existing.permissive == canonical.permissive
        and existing.roles == canonical.roles
        and existing.using == canonical.using
        and existing.with_check == canonical.with_check
    )


def _plan_policies(
    plan: ObjectPlan,
    existing: tuple[Policy, ...],
    wanted: tuple[PolicySpec, ...],
    canonical: Mapping[str, Policy],
) -> None:
    wanted_names = {spec.name for spec in wanted}
    for policy in existing:
        if policy.name not in wanted_names:
            plan.fix(
                drop_policy(policy.name, plan.name), "drop_policy", policy.name, "unexpected_policy"
            )
    current = {policy.name: policy for policy in existing}
    for spec in wanted:
        found = current.get(spec.name)
        if found is None:
            plan.fix(create_policy(spec, plan.name), "create_policy", spec.name, "policy_missing")
        elif not _same(found, canonical[spec.name]):
            plan.statements.append(drop_policy(spec.name, plan.name))
            plan.fix(create_policy(spec, plan.name), "replace_policy", spec.name, "policy_modified")


def _plan_grants(
    plan: ObjectPlan, actual: Mapping[str, frozenset[str]], wanted: Mapping[str, frozenset[str]]
) -> None:
    for role in sorted(set(actual) | set(wanted)):
        has, should = actual.get(role, frozenset()), wanted.get(role, frozenset())
        if has - should:
            detail = f"{role}: {', '.join(sorted(has - should))}"
            plan.fix(revoke(has - should, plan.name, role), "revoke", detail, "unexpected_grant")
        if should - has:
            detail = f"{role}: {', '.join(sorted(should - has))}"
            plan.fix(grant(should - has, plan.name, role), "grant", detail, "grant_missing")


def plan_table(profile: DatabaseProfile, table: TenantTable, state: DatabaseState) -> ObjectPlan:
    covered = str(table.name) in state.covered
    kind = "partition" if table.is_partition else "table"
    plan = ObjectPlan(profile.database, table.name, kind, covered)
    if table.is_materialized_view:
        plan.kind = "materialized_view"
        plan.problem(
            "materialized_view_bypasses_rls",
            "row-level security does not filter a materialized view: replace it with a "
            "security_invoker view or a tenant table",
        )
        return plan
    if table.tenant_id_type != TENANT_ID_TYPE:
        plan.problem(
            "tenant_id_not_uuid",
            f"tenant_id is {table.tenant_id_type}; the canonical policy compares it with a uuid",
        )
        return plan
    _plan_policies(plan, table.policies, profile.table_policies(table.base_name), state.canonical)
    if not table.rls_enabled:
        plan.fix(enable_rls(table.name), "enable_rls", "row level security", "rls_disabled")
    if not table.rls_forced:
        plan.fix(force_rls(table.name), "force_rls", "binds the owner", "rls_not_forced")
    _plan_grants(plan, table.grants, profile.table_grants(table.base_name))
    plan.record_coverage = not covered
    return plan


def plan_view(profile: DatabaseProfile, view: View, state: DatabaseState) -> ObjectPlan:
    plan = ObjectPlan(profile.database, view.name, "view", str(view.name) in state.covered)
    if not view.security_invoker:
        plan.fix(
            set_security_invoker(view.name),
            "set_security_invoker",
            "the view runs with the caller's row-level security",
            "view_not_security_invoker",
        )
    _plan_grants(plan, view.grants, profile.view_grants())
    plan.record_coverage = not plan.covered
    return plan


def plan_catalog_table(
    profile: DatabaseProfile, table: CatalogTable, state: DatabaseState
) -> ObjectPlan:
    plan = ObjectPlan(
        profile.database, table.name, "catalog_table", str(table.name) in state.covered
    )
    _plan_grants(plan, table.grants, profile.catalog_grants(table.name.name))
    plan.record_coverage = not plan.covered
    return plan


def plan_database(profile: DatabaseProfile, state: DatabaseState) -> list[ObjectPlan]:
    return [
        *(plan_table(profile, table, state) for table in state.tables),
        *(plan_view(profile, view, state) for view in state.views),
        *(plan_catalog_table(profile, table, state) for table in state.catalog_tables),
    ]
