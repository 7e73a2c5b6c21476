"""The rollout's planner on synthetic catalog states: order, drift versus new, what it skips."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lambdas.rls_rollout.catalog import DatabaseState, Policy, TenantTable, View
from lambdas.rls_rollout.plan import plan_database, plan_table, plan_view
from policies.rls import TENANT_POLICY, TENANT_PREDICATE, QualifiedName, app_profile

PROFILE = app_profile("crm", owner="crm_owner", runtime="crm_app", usage_reader="crm_usage")
CANONICAL = Policy(TENANT_POLICY, "ALL", True, frozenset(), "deparsed", "deparsed")
READ_WRITE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})

NEW_TABLE = TenantTable(
    oid=1,
    name=QualifiedName("public", "contacts"),
    base_name="contacts",
    kind="r",
    is_partition=False,
    tenant_id_type="uuid",
    rls_enabled=False,
    rls_forced=False,
    policies=(),
    grants={},
)
CONVERGED = replace(
    NEW_TABLE,
    rls_enabled=True,
    rls_forced=True,
    policies=(CANONICAL,),
    grants={"crm_app": READ_WRITE},
)


def state(covered: set[str], *tables: TenantTable, views: tuple[View, ...] = ()) -> DatabaseState:
    return DatabaseState(
        tables=tables,
        views=views,
        catalog_tables=(),
        covered=frozenset(covered),
        canonical={TENANT_POLICY: CANONICAL},
    )


def test_new_table_is_converged_policy_first_and_is_not_drift() -> None:
    plan = plan_table(PROFILE, NEW_TABLE, state(set(), NEW_TABLE))

    assert [s.split(" ")[0:3] for s in plan.statements] == [
        ["CREATE", "POLICY", '"tenant_isolation"'],
        ["ALTER", "TABLE", '"public"."contacts"'],
        ["ALTER", "TABLE", '"public"."contacts"'],
        ["GRANT", "SELECT,", "INSERT,"],
    ]
    assert "ENABLE" in plan.statements[1] and "FORCE" in plan.statements[2]
    assert TENANT_PREDICATE in plan.statements[0]
    assert plan.drift == [] and plan.record_coverage


def test_converged_covered_table_needs_nothing() -> None:
    plan = plan_table(PROFILE, CONVERGED, state({"public.contacts"}, CONVERGED))

    assert (plan.statements, plan.changes, plan.drift, plan.needs_transaction) == (
        [],
        [],
        [],
        False,
    )


@pytest.mark.parametrize(
    ("tampered", "issue"),
    [
        pytest.param(
            replace(CONVERGED, policies=(replace(CANONICAL, using="true"),)),
            "policy_modified",
            id="loosened",
        ),
        pytest.param(
            replace(CONVERGED, policies=(replace(CANONICAL, roles=frozenset({"crm_app"})),)),
            "policy_modified",
            id="narrowed-to-a-role",
        ),
        pytest.param(
            replace(CONVERGED, policies=(CANONICAL, replace(CANONICAL, name="open"))),
            "unexpected_policy",
            id="extra-policy",
        ),
        pytest.param(replace(CONVERGED, rls_enabled=False), "rls_disabled", id="disabled"),
        pytest.param(replace(CONVERGED, rls_forced=False), "rls_not_forced", id="not-forced"),
        pytest.param(
            replace(CONVERGED, grants={"crm_app": READ_WRITE | {"TRUNCATE"}}),
            "unexpected_grant",
            id="truncate",
        ),
        pytest.param(
            replace(CONVERGED, grants={"crm_app": READ_WRITE, "PUBLIC": frozenset({"SELECT"})}),
            "unexpected_grant",
            id="public",
        ),
    ],
)
def test_deviation_of_a_covered_table_is_drift(tampered: TenantTable, issue: str) -> None:
    plan = plan_table(PROFILE, tampered, state({"public.contacts"}, tampered))

    assert [d.issue for d in plan.drift] == [issue]
    assert plan.statements and not plan.record_coverage


def test_replacing_a_policy_drops_it_first() -> None:
    tampered = replace(CONVERGED, policies=(replace(CANONICAL, using="true"),))
    plan = plan_table(PROFILE, tampered, state({"public.contacts"}, tampered))

    assert plan.statements[0].startswith('DROP POLICY "tenant_isolation"')
    assert plan.statements[1].startswith('CREATE POLICY "tenant_isolation"')


@pytest.mark.parametrize(
    ("table", "issue"),
    [
        pytest.param(replace(NEW_TABLE, kind="m"), "materialized_view_bypasses_rls", id="matview"),
        pytest.param(replace(NEW_TABLE, tenant_id_type="text"), "tenant_id_not_uuid", id="text"),
    ],
)
def test_unfixable_tables_are_always_drift_and_never_touched(
    table: TenantTable, issue: str
) -> None:
    plan = plan_table(PROFILE, table, state(set(), table))

    assert [d.issue for d in plan.drift] == [issue]
    assert plan.statements == [] and not plan.needs_transaction


def test_view_without_security_invoker_is_fixed() -> None:
    view = View(
        2, QualifiedName("public", "deal_pipeline"), False, {"crm_app": frozenset({"SELECT"})}
    )
    plan = plan_view(PROFILE, view, state({"public.deal_pipeline"}, views=(view,)))

    assert plan.statements == ['ALTER VIEW "public"."deal_pipeline" SET (security_invoker = true)']
    assert [d.issue for d in plan.drift] == ["view_not_security_invoker"]


def test_partitions_of_usage_events_get_the_usage_readers_policy() -> None:
    partition = replace(
        NEW_TABLE,
        name=QualifiedName("public", "usage_events_p0"),
        base_name="usage_events",
        is_partition=True,
    )
    plans = plan_database(PROFILE, state(set(), partition))

    assert plans[0].kind == "partition"
    assert [c.detail for c in plans[0].changes if c.action == "create_policy"] == [
        "tenant_isolation",
        "usage_reader_read",
    ]
