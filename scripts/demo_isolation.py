"""What each tenant can see of the others, asked the way an app asks: as its runtime role.

For every app database, the runtime role (login, not the owner, no BYPASSRLS) connects and,
as each demo tenant in turn, counts the rows of every table and view that has a tenant_id:
its own, and those of any other tenant, which row-level security must hide. With no tenant
set, it must see no row at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lambdas.shared.databases import APP_DATABASES, Access, role_name
from lambdas.shared.db import Cursor, Database

TENANT_RELATIONS = """
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY c.relname
"""


@dataclass
class AppIsolation:
    app: str
    role: str
    relations: list[str]
    own: dict[str, int] = field(default_factory=dict)  # slug -> rows of its own
    foreign: dict[str, int] = field(default_factory=dict)  # slug -> rows of other tenants
    without_tenant: int = 0

    def hidden(self, slug: str) -> int:
        """Rows of the other demo tenants that exist, which `slug` must not see."""
        return sum(rows for other, rows in self.own.items() if other != slug)


def check_isolation(
    tenant_ids: Mapping[str, str], platform_env: Mapping[str, str]
) -> list[AppIsolation]:
    results = []
    for app in APP_DATABASES:
        database = Database(app, Access.APP, environ=platform_env)
        try:
            with database.without_tenant() as cur:
                cur.execute(TENANT_RELATIONS)
                relations = [str(row[0]) for row in cur.fetchall()]
                result = AppIsolation(app, role_name(app, Access.APP), relations)
                result.without_tenant = sum(sum(_count(cur, r, None)) for r in relations)
            for slug, tenant_id in tenant_ids.items():
                with database.as_tenant(tenant_id) as cur:
                    counts = [_count(cur, relation, tenant_id) for relation in relations]
                result.own[slug] = sum(own for own, _ in counts)
                result.foreign[slug] = sum(foreign for _, foreign in counts)
        finally:
            database.close()
        results.append(result)
    return results


def _count(cur: Cursor, relation: str, tenant_id: str | None) -> tuple[int, int]:
    """(rows of the tenant, rows of any other tenant) visible in `relation`."""
    from psycopg2 import sql

    query = sql.SQL(
        "SELECT count(*) FILTER (WHERE tenant_id = %(me)s::uuid), "
        "count(*) FILTER (WHERE tenant_id IS DISTINCT FROM %(me)s::uuid) FROM {}"
    ).format(sql.Identifier(relation))
    cur.execute(query, {"me": tenant_id})
    row = cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
