"""A throwaway copy of one database with 1,000 rows per tenant for 100 tenants in every table.

The copy is built exactly as the real one (same migrations, same RLS rollout, same roles); the
rows are interleaved across tenants in rounds, as real traffic writes them, so a tenant's rows
are spread over the table rather than packed together; the owner analyzes the tables; and the
database is dropped afterwards, so the shared databases never see the load.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
from psycopg2.extensions import make_dsn, parse_dsn

from lambdas.rls_rollout.rollout import run_rollout
from lambdas.shared.databases import Access, dsn_variable
from lambdas.shared.db import Connection, Cursor
from lambdas.shared.migrations import apply_migrations
from scripts.local_platform import superuser_connection
from scripts.platform_services.provision import prepare_database
from tests.isolation.samples import RowWriter, Sample, register_tenant, samples_of

TENANTS = 100
ROWS_PER_TENANT = 1_000
ROUNDS = 10
SEED = "bulk"
# psycopg2 releases the GIL while the server works: one loader per core of the CI machine.
LOADERS = 2


@dataclass(frozen=True)
class BulkDatabase:
    kind: str
    name: str
    tenants: tuple[str, ...]
    env: dict[str, str]

    def dsn(self, access: Access) -> str:
        params = parse_dsn(self.env[dsn_variable(self.kind, access)])
        params["dbname"] = self.name
        return str(make_dsn(**params))

    def connect(self, access: Access) -> Connection:
        return psycopg2.connect(self.dsn(access))


def _bulk_samples(kind: str) -> list[Sample]:
    return [s for s in samples_of(kind) if not s.registry and (s.max_rows or 1_000) >= 1_000]


def _round_sql(cur: Cursor, kind: str, tenants: Sequence[str], round_no: int) -> str:
    """One round: 100 rows of every table for each tenant in turn, in one transaction."""
    rows = ROWS_PER_TENANT // ROUNDS
    statements = ["BEGIN"]

    def collect(query: str, params: Mapping[str, object]) -> None:
        statements.append(cur.mogrify(query, params).decode())

    for tenant in tenants:
        collect("SELECT set_config('app.tenant_id', %(tenant)s, true)", {"tenant": tenant})
        writer = RowWriter(collect, kind, tenant, SEED, rows, first=round_no * rows + 1)
        for chosen in _bulk_samples(kind):
            writer.write(chosen.table)
    statements.append("COMMIT")
    return ";\n".join(statements)


def _load_share(db: BulkDatabase, tenants: Sequence[str]) -> None:
    # The superuser with session_replication_role = replica skips the foreign-key triggers,
    # which cost more than half of the load; the rows satisfy every key by construction.
    conn = superuser_connection(dbname=db.name)
    try:
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            for tenant in tenants:
                register_tenant(cur, db.kind, tenant)
            for round_no in range(ROUNDS):
                cur.execute(_round_sql(cur, db.kind, tenants, round_no))
    finally:
        conn.close()


def _load(db: BulkDatabase) -> None:
    """Write over LOADERS connections, each for its share of the tenants."""
    shares = [db.tenants[n::LOADERS] for n in range(LOADERS)]
    with ThreadPoolExecutor(max_workers=LOADERS) as pool:
        for future in [pool.submit(_load_share, db, share) for share in shares]:
            future.result()


@contextmanager
def bulk_database(kind: str, env: dict[str, str]) -> Iterator[BulkDatabase]:
    name = f"iso_bulk_{kind}_{uuid.uuid4().hex[:8]}"
    tenants = tuple(str(uuid.uuid4()) for _ in range(TENANTS))
    db = BulkDatabase(kind, name, tenants, env)
    admin = superuser_connection()
    try:
        prepare_database(admin, lambda target: superuser_connection(dbname=target), name, kind)
        owner = db.connect(Access.OWNER)
        try:
            apply_migrations(owner, kind)
            run_rollout([kind], connect=lambda _kind: db.connect(Access.OWNER))
            _load(db)
            owner.autocommit = True
            with owner.cursor() as cur:
                cur.execute("ANALYZE")
        finally:
            owner.close()
        yield db
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
