"""Tenants and app usage events in the real databases of the local platform, for handler tests.

Every tenant gets a unique slug, and every test aggregates its own day of 2003, a year no
other test uses, so tests of other folders sharing the server cannot change the figures.
Tenants are created the way the platform does (the control plane in the core database, the
runtime role in the app databases) and removed by the owners afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lambdas.shared.databases import APP_DATABASES, CORE, Access
from lambdas.shared.db import Database


@dataclass
class TenantFactory:
    """Creates tenants with unique slugs and removes them (and their rows) at the end."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    created: list[str] = field(default_factory=list)

    def slug(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def create(self, name: str, *, plan: str = "enterprise", status: str = "active") -> str:
        """The id of a new tenant named `<name>-<tag>`, subscribed to `plan`."""
        core = Database(CORE, Access.APP)
        try:
            with core.as_control_plane() as cur:
                cur.execute(
                    "INSERT INTO tenants (slug, name, admin_email, plan_code, status) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id::text",
                    (self.slug(name), name, f"admin@{name}.example.com", plan, status),
                )
                row = cur.fetchone()
                assert row is not None
                tenant_id = str(row[0])
                cur.execute(
                    "INSERT INTO subscriptions (tenant_id, plan_code) VALUES (%s, %s)",
                    (tenant_id, plan),
                )
        finally:
            core.close()
        self.created.append(tenant_id)
        for app in APP_DATABASES:
            with _app(app) as database, database.as_tenant(tenant_id) as cur:
                cur.execute(
                    "INSERT INTO tenants (tenant_id, slug) VALUES (%s, %s)",
                    (tenant_id, self.slug(name)),
                )
        return tenant_id

    def add_events(self, app: str, tenant_id: str, events: list[tuple[datetime, str, int]]) -> None:
        """Record (occurred_at, metric, quantity) usage events as the app would."""
        with _app(app) as database, database.as_tenant(tenant_id) as cur:
            cur.executemany(
                "INSERT INTO usage_events (tenant_id, occurred_at, metric, quantity) "
                "VALUES (%s, %s, %s, %s)",
                [(tenant_id, at, metric, quantity) for at, metric, quantity in events],
            )

    def remove_all(self) -> None:
        for app in APP_DATABASES:
            owner = Database(app, Access.OWNER)
            try:
                for tenant_id in self.created:
                    with owner.as_tenant(tenant_id) as cur:
                        cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (tenant_id,))
            finally:
                owner.close()
        owner = Database(CORE, Access.OWNER)
        try:
            with owner.without_tenant() as cur:
                cur.execute("DELETE FROM tenants WHERE id = ANY(%s::uuid[])", (self.created,))
        finally:
            owner.close()
        self.created.clear()


@contextmanager
def _app(app: str) -> Iterator[Database]:
    """A runtime-role Database for one app, closed at the end of the block."""
    database = Database(app, Access.APP)
    try:
        yield database
    finally:
        database.close()


def core_query(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a read in the core database as the control plane."""
    core = Database(CORE, Access.APP)
    try:
        with core.as_control_plane() as cur:
            cur.execute(sql, params)
            return [tuple(row) for row in cur.fetchall()]
    finally:
        core.close()
