"""The parametrized cases of the isolation suite, with readable ids (`crm.contacts`)."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.shared.databases import APP_DATABASES, CORE, DATABASES
from tests.isolation.samples import SAMPLES

USAGE_PARTITIONS = 4

VIEWS: dict[str, str] = {
    "crm": "deal_pipeline",
    "hr": "current_employees",
    "accounting": "invoice_totals",
    "inventory": "stock_on_hand",
    "affiliate": "affiliate_earnings",
    CORE: "monthly_usage",
}


def table_cases() -> list[Any]:
    return [pytest.param(s, id=s.case_id) for s in SAMPLES.values()]


def data_table_cases() -> list[Any]:
    """Tables that hold rows of their own (not the one-row tenant registry)."""
    return [pytest.param(s, id=s.case_id) for s in SAMPLES.values() if not s.registry]


def bulk_table_cases() -> list[Any]:
    """Tables that can hold 1,000 rows per tenant, for the index check, database by database
    (each database's bulk copy is built once and dropped before the next)."""
    order = {db: position for position, db in enumerate(DATABASES)}
    chosen = [
        s for s in SAMPLES.values() if not s.registry and (s.max_rows is None or s.max_rows >= 1000)
    ]
    chosen.sort(key=lambda s: order[s.database])
    return [pytest.param(s, id=s.case_id) for s in chosen]


def child_table_cases() -> list[Any]:
    return [pytest.param(s, id=s.case_id) for s in SAMPLES.values() if s.parents]


def partition_names(database: str) -> list[str]:
    return [f"usage_events_p{n}" for n in range(USAGE_PARTITIONS)]


def partition_cases() -> list[Any]:
    return [
        pytest.param(db, name, id=f"{db}.{name}")
        for db in APP_DATABASES
        for name in partition_names(db)
    ]


def view_cases() -> list[Any]:
    return [pytest.param(db, view, id=f"{db}.{view}") for db, view in VIEWS.items()]


def database_cases() -> list[Any]:
    return [pytest.param(db, id=db) for db in (CORE, *APP_DATABASES)]


def app_database_cases() -> list[Any]:
    return [pytest.param(db, id=db) for db in APP_DATABASES]


def expected_tenant_tables(database: str) -> set[str]:
    """Every table (and partition) with tenant_id that the suite has cases for."""
    tables = {s.table for s in SAMPLES.values() if s.database == database}
    if database != CORE:
        tables.update(partition_names(database))
    return tables
