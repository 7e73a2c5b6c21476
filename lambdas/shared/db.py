"""Runs units of work against one database, as one tenant or as the control plane.

    db = get_database("crm")                 # runtime role, reused across warm invocations
    with db.as_tenant(tenant_id) as cur:     # sees and writes only that tenant's rows
        cur.execute("SELECT ... FROM contacts")
    get_database("crm", Access.USAGE).without_tenant()   # usage reader: usage_events only
    get_database("core").as_control_plane()              # core: every tenant (SET LOCAL ROLE)

A unit of work is one explicit transaction on a reused connection:

- its first round trip opens the transaction, sets the tenant with
  `set_config('app.tenant_id', <uuid>, true)` (transaction-local), and sets the statement and
  lock timeouts with `SET LOCAL`; when that round trip finds the connection dead, the
  connection is re-opened once and the preamble repeated, so no statement of the caller is
  ever sent twice;
- it commits when the block ends, rolls back when it raises, and then runs `DISCARD ALL`, so a
  session-level `set_config`, `SET`, `SET ROLE` or temporary table made inside the block does
  not survive into the next unit of work;
- a new connection is refused when its role is a superuser or has BYPASSRLS (or can become
  one with `SET ROLE`): row-level security does not bind those roles.

Import cost is psycopg2 and the standard library; boto3 loads only when a secret is read.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TypeAlias

import psycopg2
import psycopg2.extensions

from lambdas.shared.databases import ALL_TENANTS_ROLE, CORE, Access, check_database
from lambdas.shared.dsn import resolve_dsn

logger = logging.getLogger(__name__)

Connection: TypeAlias = psycopg2.extensions.connection
Cursor: TypeAlias = psycopg2.extensions.cursor

TENANT_SETTING = "app.tenant_id"
CONNECT_TIMEOUT_SECONDS = 5

_PREAMBLE = (
    "BEGIN;"
    f" SELECT set_config('{TENANT_SETTING}', %(tenant)s, true);"
    " SET LOCAL statement_timeout = %(statement_ms)s;"
    " SET LOCAL lock_timeout = %(lock_ms)s;"
    " SET LOCAL idle_in_transaction_session_timeout = %(idle_ms)s"
)
_ALL_TENANTS = f'; SET LOCAL ROLE "{ALL_TENANTS_ROLE}"'

# A role that row-level security does not bind, directly or through SET ROLE.
_UNSAFE_ROLES = """
SELECT r.rolname, r.rolsuper, r.rolbypassrls
FROM pg_roles AS r
WHERE (r.rolsuper OR r.rolbypassrls) AND pg_has_role(current_user, r.oid, 'MEMBER')
ORDER BY r.rolname
"""


class UnsafeRoleError(RuntimeError):
    """The connection's role is not bound by row-level security."""


class InvalidTenantError(ValueError):
    """A tenant id that is not a UUID."""


@dataclass(frozen=True)
class Timeouts:
    """Per-transaction limits; a unit of work that exceeds one is cancelled and rolled back."""

    statement_ms: int = 5_000
    lock_ms: int = 2_000
    idle_in_transaction_ms: int = 30_000

    def __post_init__(self) -> None:
        for field_name in ("statement_ms", "lock_ms", "idle_in_transaction_ms"):
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Timeouts.{field_name} = {value!r}: must be an integer > 0")


def tenant_setting_value(tenant_id: uuid.UUID | str) -> str:
    """The canonical text of a tenant id, or InvalidTenantError naming the value."""
    if isinstance(tenant_id, uuid.UUID):
        return str(tenant_id)
    try:
        return str(uuid.UUID(str(tenant_id)))
    except ValueError as exc:
        raise InvalidTenantError(f"tenant_id {tenant_id!r} is not a UUID") from exc


def check_role_is_bound(conn: Connection) -> None:
    """Raise UnsafeRoleError when row-level security would not bind this connection's role."""
    with conn.cursor() as cur:
        cur.execute("SELECT current_user")
        row = cur.fetchone()
        current = row[0] if row else "?"
        cur.execute(_UNSAFE_ROLES)
        unsafe = cur.fetchall()
    if unsafe:
        reasons = ", ".join(
            f"{name} ({'superuser' if superuser else 'BYPASSRLS'})"
            for name, superuser, _bypass in unsafe
        )
        raise UnsafeRoleError(
            f"role {current!r} is or can become {reasons}; row-level security does not bind "
            "it, so tenant units of work refuse it: connect as the runtime role"
        )


class Database:
    """One database, one access kind, one reused connection; not safe across threads."""

    def __init__(
        self,
        database: str,
        access: Access = Access.APP,
        *,
        timeouts: Timeouts | None = None,
        environ: Mapping[str, str] | None = None,
        connect: Callable[[], Connection] | None = None,
    ) -> None:
        self.database = check_database(database)
        self.access = access
        self.timeouts = timeouts or Timeouts()
        self._environ = environ
        self._connect = connect or self._connect_from_settings
        self._conn: Connection | None = None

    def _connect_from_settings(self) -> Connection:
        return psycopg2.connect(
            resolve_dsn(self.database, self.access, self._environ),
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name=f"tenant-platform-{self.database}-{self.access.value}",
        )

    def _open(self) -> Connection:
        conn = self._connect()
        conn.autocommit = True
        try:
            check_role_is_bound(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _begin(self, tenant: str, control_plane: bool) -> Connection:
        preamble = _PREAMBLE + (_ALL_TENANTS if control_plane else "")
        params = {
            "tenant": tenant,
            "statement_ms": self.timeouts.statement_ms,
            "lock_ms": self.timeouts.lock_ms,
            "idle_ms": self.timeouts.idle_in_transaction_ms,
        }
        reopened = False
        while True:
            conn = self._conn if self._conn is not None and not self._conn.closed else self._open()
            try:
                with conn.cursor() as cur:
                    cur.execute(preamble, params)
            except psycopg2.Error:
                if not conn.closed:
                    # The server refused the preamble (e.g. SET ROLE): end that transaction.
                    self._finish(conn, "ROLLBACK")
                    raise
                if reopened:
                    self.close()
                    raise
                logger.warning(
                    "database connection was dead; reopening",
                    extra={"database": self.database, "access": self.access.value},
                )
                self.close()
                reopened = True
                continue
            return conn

    def _finish(self, conn: Connection, statement: str) -> None:
        # DISCARD ALL cannot share a round trip with COMMIT (it refuses to run inside the
        # implicit transaction of a multi-statement query), so a unit of work costs three
        # round trips plus its own statements.
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                cur.execute("DISCARD ALL")
        except psycopg2.Error:
            self.close()
            raise

    @contextmanager
    def _unit(self, tenant: str, control_plane: bool) -> Iterator[Cursor]:
        conn = self._begin(tenant, control_plane)
        try:
            with conn.cursor() as cur:
                yield cur
        except BaseException:
            if not conn.closed:
                self._finish(conn, "ROLLBACK")
            else:
                self.close()
            raise
        self._finish(conn, "COMMIT")

    def as_tenant(self, tenant_id: uuid.UUID | str) -> AbstractContextManager[Cursor]:
        """A unit of work that sees and writes only `tenant_id`'s rows."""
        return self._unit(tenant_setting_value(tenant_id), control_plane=False)

    def without_tenant(self) -> AbstractContextManager[Cursor]:
        """A unit of work with no tenant: tenant tables show no rows unless a policy says so."""
        return self._unit("", control_plane=False)

    def as_control_plane(self) -> AbstractContextManager[Cursor]:
        """A cross-tenant unit of work in the core database, for the control-plane role.

        The transaction switches to the all-tenants role (`SET LOCAL ROLE`), whose policy lets
        it see every tenant; any other role is refused by the server. A tenant-scoped unit of
        work of the control-plane role stays bound to its tenant.
        """
        if self.database != CORE:
            raise ValueError(
                f"database {self.database!r}: control-plane units of work exist only in "
                f"{CORE!r}; app databases are read across tenants by the usage reader"
            )
        return self._unit("", control_plane=True)


_registry: dict[tuple[str, Access], Database] = {}


def get_database(database: str, access: Access = Access.APP) -> Database:
    """The process-wide `Database`, so warm Lambda invocations reuse its connection."""
    key = (check_database(database), access)
    if key not in _registry:
        _registry[key] = Database(database, access)
    return _registry[key]


def close_all() -> None:
    for db in _registry.values():
        db.close()
    _registry.clear()
