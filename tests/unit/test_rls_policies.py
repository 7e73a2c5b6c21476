"""Canonical RLS predicates, profiles and DDL (policies/rls), without a database."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lambdas.shared import db
from policies.rls import (
    CONTROL_PLANE_POLICY,
    TENANT_POLICY,
    TENANT_PREDICATE,
    TENANT_SETTING,
    USAGE_READER_POLICY,
    PolicySpec,
    QualifiedName,
    app_profile,
    core_profile,
)
from policies.rls.sql import (
    create_policy,
    drop_policy,
    enable_rls,
    force_rls,
    grant,
    quote_ident,
    revoke,
    set_security_invoker,
)

CRM = app_profile("crm", owner="crm_owner", runtime="crm_app", usage_reader="crm_usage")
CORE = core_profile(
    "core", owner="core_owner", control_plane_role="core_cp", all_tenants_role="core_all"
)
TABLE = QualifiedName("public", "contacts")


def test_tenant_predicate_reads_the_setting_once_and_treats_empty_as_none() -> None:
    assert TENANT_PREDICATE == (
        "tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)"
    )


def test_helper_and_policies_agree_on_the_setting_name() -> None:
    assert db.TENANT_SETTING == TENANT_SETTING


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        pytest.param("contacts", '"contacts"', id="plain"),
        pytest.param('we"ird', '"we""ird"', id="embedded-quote"),
        pytest.param("Mixed Case", '"Mixed Case"', id="spaces-and-case"),
    ],
)
def test_identifiers_are_always_quoted(name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted


@pytest.mark.parametrize("name", ["", "a\x00b"], ids=["empty", "nul"])
def test_impossible_identifiers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        quote_ident(name)


def test_create_policy_covers_every_command_for_public_with_both_clauses() -> None:
    statement = create_policy(CRM.table_policies("contacts")[0], TABLE)

    assert statement == (
        'CREATE POLICY "tenant_isolation" ON "public"."contacts" AS PERMISSIVE FOR ALL TO PUBLIC '
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})"
    )


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        pytest.param(
            lambda: drop_policy("x", TABLE), 'DROP POLICY "x" ON "public"."contacts"', id="drop"
        ),
        pytest.param(
            lambda: enable_rls(TABLE),
            'ALTER TABLE "public"."contacts" ENABLE ROW LEVEL SECURITY',
            id="enable",
        ),
        pytest.param(
            lambda: force_rls(TABLE),
            'ALTER TABLE "public"."contacts" FORCE ROW LEVEL SECURITY',
            id="force",
        ),
        pytest.param(
            lambda: set_security_invoker(QualifiedName("public", "v")),
            'ALTER VIEW "public"."v" SET (security_invoker = true)',
            id="view",
        ),
        pytest.param(
            lambda: grant({"UPDATE", "SELECT"}, TABLE, "crm_app"),
            'GRANT SELECT, UPDATE ON TABLE "public"."contacts" TO "crm_app"',
            id="grant-ordered",
        ),
        pytest.param(
            lambda: revoke({"TRUNCATE"}, TABLE, "PUBLIC"),
            'REVOKE TRUNCATE ON TABLE "public"."contacts" FROM PUBLIC',
            id="revoke-public",
        ),
    ],
)
def test_ddl_text(build: Callable[[], str], expected: str) -> None:
    assert build() == expected


@pytest.mark.parametrize("privileges", [set(), {"SELECT", "DROP"}], ids=["none", "unknown"])
def test_grant_refuses_unknown_or_no_privileges(privileges: set[str]) -> None:
    with pytest.raises(ValueError, match="allowed"):
        grant(privileges, TABLE, "crm_app")


@pytest.mark.parametrize(
    ("command", "using", "check"),
    [
        pytest.param("SELECT", "true", "true", id="select-with-check"),
        pytest.param("INSERT", "true", None, id="insert-with-using"),
        pytest.param("MERGE", "true", None, id="unknown-command"),
    ],
)
def test_policy_spec_refuses_clauses_postgres_rejects(
    command: str, using: str, check: str | None
) -> None:
    with pytest.raises(ValueError, match="PolicySpec.command|takes no"):
        PolicySpec("p", command, (), using, check)


def test_app_tables_get_only_the_tenant_policy_and_read_write_grants() -> None:
    assert [p.name for p in CRM.table_policies("contacts")] == [TENANT_POLICY]
    assert CRM.table_grants("contacts") == {"crm_app": {"SELECT", "INSERT", "UPDATE", "DELETE"}}


def test_usage_events_and_partitions_also_admit_the_usage_reader_for_reads_only() -> None:
    policies = {p.name: p for p in CRM.table_policies("usage_events")}

    assert set(policies) == {TENANT_POLICY, USAGE_READER_POLICY}
    reader = policies[USAGE_READER_POLICY]
    assert (reader.command, reader.roles, reader.with_check) == ("SELECT", ("crm_usage",), None)
    assert CRM.table_grants("usage_events")["crm_usage"] == {"SELECT"}


def test_core_cross_tenant_policy_names_only_the_all_tenants_role() -> None:
    policies = {p.name: p for p in CORE.table_policies("subscriptions")}

    assert policies[CONTROL_PLANE_POLICY].roles == ("core_all",)
    assert policies[TENANT_POLICY].roles == ()


def test_core_audit_log_is_append_only_and_tenants_are_never_deleted() -> None:
    assert CORE.table_grants("audit_log") == {
        "core_cp": {"SELECT", "INSERT"},
        "core_all": {"SELECT", "INSERT"},
    }
    assert CORE.catalog_grants("tenants") == {"core_all": {"SELECT", "INSERT", "UPDATE"}}
    assert CORE.catalog_grants("plans") == {"core_all": {"SELECT"}}
    assert CRM.catalog_grants("tenants") == {}


def test_nobody_may_truncate_a_tenant_table() -> None:
    for profile, table in ((CRM, "contacts"), (CRM, "usage_events"), (CORE, "daily_usage")):
        for privileges in profile.table_grants(table).values():
            assert "TRUNCATE" not in privileges
