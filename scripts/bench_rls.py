"""Cost of row-level security, and of a rollout that has nothing to change.

- `rls_overhead_ratio`: a 1M-row table over 1,000 tenants in a scratch database `bench`,
  protected by the canonical tenant policy (`policies/rls/sql.py`). A tenant's paged list
  and point lookup, run as a runtime-like role bound by RLS with the tenant set
  transaction-locally, against the same statements with an explicit `tenant_id = $1` filter
  on the same table as a role RLS does not bind (BYPASSRLS). Ratio of medians.
  Both sides run the same transaction shape (BEGIN, SET LOCAL ROLE, set the tenant, the two
  timed statements, COMMIT) and take turns going first: the table and its index (~170 MB)
  do not fit the default 128 MB of shared buffers and a tenant's rows sit on different
  pages, so whichever side reads a sample's pages first pays the buffer misses for both.
  Both sides also share one connection, so one server process: two backends are two
  processes that the scheduler places on its own, and on 2 vCPUs the same explicit lookup
  measured 17-76 us apart on two connections (whether a backend shares the client's CPU),
  more than the RLS cost itself. Only the role and the statements differ between sides.
- `rollout_noop_s`: the RLS rollout handler over all six databases, run once to converge,
  then timed on a second run that must change nothing.

    python -m scripts.bench_rls [--rows 1000000] [--tenants 1000] [--samples 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import psycopg2.extensions

from lambdas.shared.db import Connection
from policies.rls.sql import CURRENT_TENANT, TENANT_SETTING
from scripts.bench_cli import at_least, quiet_handlers
from scripts.lambda_context import lambda_context
from scripts.local_platform import session_lease, superuser_connection

BENCH_DATABASE = "bench"
BENCH_ROLE = "bench_runtime"
PLAIN_ROLE = "bench_plain"
PAGE = 25
WARM_UP = 200  # samples left out: the first statements warm caches and plans

SCHEMA = f"""
DROP TABLE IF EXISTS bench_items;
DROP ROLE IF EXISTS {BENCH_ROLE};
CREATE ROLE {BENCH_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
CREATE TABLE bench_items (
    tenant_id uuid NOT NULL,
    id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    amount_cents bigint NOT NULL,
    note text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO bench_items
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n %% %(tenants)s), 12, '0'))::uuid,
       n, timestamptz '2026-01-01' + n * interval '1 second', n %% 100000, md5(n::text)
FROM generate_series(1, %(rows)s) AS n;
ALTER TABLE bench_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bench_items
    USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});
GRANT SELECT ON bench_items TO {BENCH_ROLE};
ANALYZE bench_items;
"""
# The explicit-filter side: a role that row-level security does not bind.
PLAIN_ROLE_SQL = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PLAIN_ROLE}') THEN
        CREATE ROLE {PLAIN_ROLE} NOLOGIN NOSUPERUSER BYPASSRLS;
    END IF;
END $$;
GRANT SELECT ON bench_items TO {PLAIN_ROLE};
"""

UNDER_RLS = {
    "list": f"SELECT id, created_at, amount_cents FROM bench_items ORDER BY id LIMIT {PAGE}",
    "lookup": "SELECT id, created_at, amount_cents, note FROM bench_items WHERE id = %(id)s",
}
EXPLICIT = {
    "list": "SELECT id, created_at, amount_cents FROM bench_items "
    f"WHERE tenant_id = %(tenant)s ORDER BY id LIMIT {PAGE}",
    "lookup": "SELECT id, created_at, amount_cents, note FROM bench_items "
    "WHERE tenant_id = %(tenant)s AND id = %(id)s",
}


def tenant_of(n: int, tenants: int) -> str:
    return f"00000000-0000-4000-8000-{n % tenants:012x}"


def prepare(rows: int, tenants: int) -> None:
    admin = superuser_connection()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    admin.close()
    conn = superuser_connection(dbname=BENCH_DATABASE)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('bench_items') IS NOT NULL")
            row = cur.fetchone()
            loaded = False
            if row and row[0]:
                cur.execute("SELECT count(*), count(DISTINCT tenant_id) FROM bench_items")
                loaded = cur.fetchone() == (rows, tenants)  # by an earlier run, same shape
            if not loaded:
                cur.execute(SCHEMA, {"rows": rows, "tenants": tenants})
            cur.execute(PLAIN_ROLE_SQL)
    finally:
        conn.close()


def _timed(cur: psycopg2.extensions.cursor, statement: str, params: dict[str, object]) -> float:
    started = time.perf_counter()
    cur.execute(statement, params)
    rows = cur.fetchall()
    elapsed = time.perf_counter() - started
    if not rows:
        raise RuntimeError(f"benchmark query returned no rows: {statement} {params}")
    return elapsed


def _sample(
    conn: Connection, role: str, queries: dict[str, str], params: dict[str, object]
) -> dict[str, float]:
    """One transaction as `role` with the tenant set: the two statements' latencies."""
    with conn, conn.cursor() as cur:
        cur.execute(f"SET LOCAL ROLE {role}")
        cur.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, params["tenant"]))
        return {kind: _timed(cur, sql, params) for kind, sql in queries.items()}


def measure_rls(rows: int, tenants: int, samples: int) -> dict[str, float]:
    prepare(rows, tenants)
    conn: Connection = superuser_connection(dbname=BENCH_DATABASE)
    under: dict[str, list[float]] = {"list": [], "lookup": []}
    explicit: dict[str, list[float]] = {"list": [], "lookup": []}
    for sample in range(samples + WARM_UP):
        n = (sample * 7919) % rows + 1
        params: dict[str, object] = {"tenant": tenant_of(n, tenants), "id": n}
        if sample % 2:
            timings = _sample(conn, BENCH_ROLE, UNDER_RLS, params)
            plain = _sample(conn, PLAIN_ROLE, EXPLICIT, params)
        else:
            plain = _sample(conn, PLAIN_ROLE, EXPLICIT, params)
            timings = _sample(conn, BENCH_ROLE, UNDER_RLS, params)
        if sample >= WARM_UP:
            for kind in under:
                under[kind].append(timings[kind])
                explicit[kind].append(plain[kind])
    conn.close()
    ratios = {
        kind: statistics.median(under[kind]) / statistics.median(explicit[kind]) for kind in under
    }
    return {
        "rls_list_median_ms": round(statistics.median(under["list"]) * 1000, 3),
        "rls_lookup_median_ms": round(statistics.median(under["lookup"]) * 1000, 3),
        "explicit_list_median_ms": round(statistics.median(explicit["list"]) * 1000, 3),
        "explicit_lookup_median_ms": round(statistics.median(explicit["lookup"]) * 1000, 3),
        "rls_overhead_ratio": round(max(ratios.values()), 3),
    }


def measure_rollout(env: dict[str, str]) -> dict[str, float]:
    from lambdas.rls_rollout.handler import handler

    os.environ.update(env)
    context = lambda_context("rls-rollout")
    handler({}, context)
    started = time.perf_counter()
    report = handler({}, context)
    elapsed = time.perf_counter() - started
    if report["changes"]:
        raise RuntimeError(f"second rollout changed something: {report['changes']}")
    return {"rollout_noop_s": round(elapsed, 3), "rollout_tables": report["tables_checked"]}


def measure(rows: int, tenants: int, samples: int) -> dict[str, float]:
    with session_lease(echo=lambda message: print(message, file=sys.stderr)) as info:
        return {**measure_rls(rows, tenants, samples), **measure_rollout(info.env)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench_rls",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=at_least(1), default=1_000_000)
    parser.add_argument("--tenants", type=at_least(1), default=1_000)
    parser.add_argument("--samples", type=at_least(1), default=5_000)
    args = parser.parse_args(argv)
    if args.tenants > args.rows:
        parser.error(f"--tenants ({args.tenants}) must not exceed --rows ({args.rows})")
    quiet_handlers()
    print(json.dumps(measure(args.rows, args.tenants, args.samples), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
