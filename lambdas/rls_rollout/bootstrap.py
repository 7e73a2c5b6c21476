"""Creates, on a database whose only login is the RDS master, what `make up` makes locally.

Per database, in this order, each step reading the catalog first and changing only what
differs, so a run is resumable after a crash at any point and a second run changes nothing:

1. roles: the owner (NOLOGIN), the runtime and usage roles (LOGIN, no password yet), core's
   all-tenants role; none is superuser, BYPASSRLS, CREATEROLE, CREATEDB or REPLICATION;
2. memberships: the master may SET ROLE to the owner (and inherits it, to reach the owner's
   objects); the control-plane role is a NOINHERIT member of the all-tenants role; any other
   membership among the database's roles is revoked;
3. the database: owned by the owner; PUBLIC may not connect or use schema public; the runtime
   and usage roles may;
4. migrations, applied as the owner (`SET ROLE`) by lambdas/shared/migrations.py;
5. each login role's secret: when it has no value, holds another role or no longer logs in, a
   new password is set on the role (as a SCRAM verifier, never in clear text) and then written
   to the secret; a crash between the two leaves the old secret, which the retry finds stale.

Who bootstraps: with `"bootstrap"` omitted, every database whose owner connection is not the
owner role itself and can create roles (the RDS master); a database reached as its owner role
(the local platform, whose roles `make up` creates as the superuser) is skipped and the skip is
logged. `true` requires the bootstrap everywhere; `false` skips it everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from aws_lambda_powertools import Logger
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from lambdas.rls_rollout.credentials import inspect_secret, secrets_client, write_value
from lambdas.rls_rollout.plan import Change
from lambdas.rls_rollout.roles import DatabaseRoles, RoleSpec, database_roles
from lambdas.rls_rollout.rollout import DatabaseUnreachableError, RolloutBusyError, RolloutError
from lambdas.shared.databases import Access, secret_variable
from lambdas.shared.db import Connection

logger = Logger(child=True)

BOOTSTRAP_LOCK_KEY = 7_204_117_003
PASSWORD_BYTES = 32
_ROLE_FLAGS = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls")
_FLAG_OPTIONS = {
    "rolsuper": "NOSUPERUSER",
    "rolcreatedb": "NOCREATEDB",
    "rolcreaterole": "NOCREATEROLE",
    "rolreplication": "NOREPLICATION",
    "rolbypassrls": "NOBYPASSRLS",
}

Connect = Callable[[str], Connection]


class BootstrapError(RolloutError):
    """The bootstrap cannot run or did not finish; a retry resumes where it stopped."""


@dataclass(frozen=True)
class Session:
    """Who the owner connection is: the role, whether it may create roles, the server."""

    user: str
    can_create_roles: bool
    server_version: int


@dataclass
class BootstrapReport:
    bootstrapped: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    def changed(self, database: str) -> bool:
        return any(change.database == database for change in self.changes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _session(conn: Connection) -> Session:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT current_user, r.rolsuper OR r.rolcreaterole, current_setting("
            "'server_version_num')::int FROM pg_roles AS r WHERE r.rolname = current_user"
        )
        row = cur.fetchone()
    conn.rollback()
    assert row is not None
    return Session(str(row[0]), bool(row[1]), int(row[2]))


def _execute(conn: Connection, statement: sql.Composable, params: Any = None) -> None:
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
    finally:
        conn.autocommit = False


class DatabaseBootstrap:
    """The five steps for one database on one owner connection (the master's)."""

    def __init__(
        self,
        database: str,
        conn: Connection,
        session: Session,
        roles: DatabaseRoles,
        *,
        dry_run: bool,
        environ: Mapping[str, str],
        secrets: Any,
    ) -> None:
        self.database, self.conn, self.session, self.roles = database, conn, session, roles
        self.dry_run, self.environ, self.secrets = dry_run, environ, secrets
        self.changes: list[Change] = []

    def _change(self, obj: str, action: str, detail: str, statement: sql.Composable) -> None:
        self.changes.append(Change(self.database, obj, action, detail))
        if not self.dry_run:
            _execute(self.conn, statement)

    def _query(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            rows = cur.fetchall()
        self.conn.rollback()
        return rows

    def run(self) -> list[Change]:
        existing = self.ensure_roles()
        self.ensure_memberships(existing)
        self.ensure_database()
        self.ensure_migrations()
        self.ensure_credentials(existing)
        return self.changes

    def ensure_roles(self) -> set[str]:
        """Create missing roles, correct the attributes of existing ones; the roles that existed."""
        rows = self._query(
            f"SELECT rolname, rolcanlogin, rolinherit, {', '.join(_ROLE_FLAGS)} "
            "FROM pg_roles WHERE rolname = ANY(%s)",
            (list(self.roles.names),),
        )
        found = {row[0]: row for row in rows}
        for spec in self.roles.specs:
            name = sql.Identifier(spec.name)
            row = found.get(spec.name)
            if row is None:
                statement = sql.SQL("CREATE ROLE {} " + spec.options).format(name)
                self._change(f"role {spec.name}", "create_role", spec.options, statement)
                continue
            wrong = _attribute_fixes(spec, row)
            if wrong:
                options = " ".join(wrong)
                statement = sql.SQL("ALTER ROLE {} " + options).format(name)
                self._change(f"role {spec.name}", "correct_role", options, statement)
        return set(found)

    def ensure_memberships(self, existing: set[str]) -> None:
        names = list(self.roles.names)
        rows = self._query(
            "SELECT r.rolname, m.rolname FROM pg_auth_members AS a "
            "JOIN pg_roles AS r ON r.oid = a.roleid JOIN pg_roles AS m ON m.oid = a.member "
            "WHERE r.rolname = ANY(%(names)s) AND m.rolname = ANY(%(names)s)",
            {"names": names},
        )
        present = {(granted, member) for granted, member in rows}
        for granted, member in sorted(present - self.roles.memberships):
            statement = sql.SQL("REVOKE {} FROM {}").format(
                sql.Identifier(granted), sql.Identifier(member)
            )
            self._change(f"role {member}", "revoke_membership", granted, statement)
        for granted, member in sorted(self.roles.memberships - present):
            statement = sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(granted), sql.Identifier(member)
            )
            self._change(f"role {member}", "grant_membership", granted, statement)
        # Maintenance: the tests run on PostgreSQL 15, RDS runs 16, whose CREATEROLE rules
        # differ: there a REVOKE of a membership another role granted needs GRANTED BY, and a
        # role the master did not create cannot be altered by it; both stop the run with the
        # server's error. Workaround: a dry run first on a new instance, then fix by hand as
        # the grantor. https://www.postgresql.org/docs/16/release-16.html#RELEASE-16-PRIVILEGES
        if not self._master_can_become_owner(existing):
            # PostgreSQL 16 gives the creator of a role ADMIN OPTION only (no SET, no INHERIT),
            # so the master grants itself the owner explicitly, with both.
            options = (
                " WITH INHERIT TRUE, SET TRUE" if self.session.server_version >= 160000 else ""
            )
            statement = sql.SQL("GRANT {} TO {}" + options).format(
                sql.Identifier(self.roles.owner), sql.Identifier(self.session.user)
            )
            self._change(
                f"role {self.session.user}", "grant_membership", self.roles.owner, statement
            )

    def _master_can_become_owner(self, existing: set[str]) -> bool:
        if self.roles.owner not in existing:
            return False
        checks = "pg_has_role(current_user, %(owner)s, 'USAGE')"
        if self.session.server_version >= 160000:
            checks += " AND pg_has_role(current_user, %(owner)s, 'SET')"
        rows = self._query(f"SELECT {checks}", {"owner": self.roles.owner})
        return bool(rows[0][0])

    def ensure_database(self) -> None:
        owner, readers = self.roles.owner, self.roles.readers
        rows = self._query(
            "SELECT current_database(), pg_get_userbyid(d.datdba), coalesce(r.rolname, 'PUBLIC'), "
            "a.privilege_type FROM pg_database AS d "
            "CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a "
            "LEFT JOIN pg_roles AS r ON r.oid = a.grantee WHERE d.datname = current_database()"
        )
        name, current_owner = rows[0][0], rows[0][1]
        grants = {(grantee, privilege) for _n, _o, grantee, privilege in rows}
        target = sql.Identifier(name)
        if current_owner != owner:
            statement = sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                target, sql.Identifier(owner)
            )
            self._change(f"database {name}", "set_owner", owner, statement)
        if any(grantee == "PUBLIC" for grantee, _p in grants):
            self._as_owner(
                f"database {name}",
                "revoke_public",
                "CONNECT, TEMPORARY",
                sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(target),
            )
        missing = [role for role in readers if (role, "CONNECT") not in grants]
        if missing:
            self._as_owner(
                f"database {name}",
                "grant_connect",
                ", ".join(missing),
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    target, sql.SQL(", ").join(map(sql.Identifier, missing))
                ),
            )
        self._ensure_schema(readers)

    def _ensure_schema(self, readers: Sequence[str]) -> None:
        rows = self._query(
            "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type FROM pg_namespace AS n "
            "CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) AS a "
            "LEFT JOIN pg_roles AS r ON r.oid = a.grantee WHERE n.nspname = 'public'"
        )
        grants = set(rows)
        if any(grantee == "PUBLIC" for grantee, _p in grants):
            self._as_owner(
                "schema public",
                "revoke_public",
                "all",
                sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
            )
        missing = [role for role in readers if (role, "USAGE") not in grants]
        if missing:
            self._as_owner(
                "schema public",
                "grant_usage",
                ", ".join(missing),
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, missing))
                ),
            )

    def _as_owner(self, obj: str, action: str, detail: str, statement: sql.Composable) -> None:
        """Grants on the owner's objects are made as the owner, so the owner is their grantor."""
        self._change(
            obj,
            action,
            detail,
            sql.SQL("SET ROLE {}; {}; RESET ROLE").format(
                sql.Identifier(self.roles.owner), statement
            ),
        )

    def ensure_migrations(self) -> None:
        # Imported here: only a bootstrap that runs needs the runner (hashlib, pathlib).
        from lambdas.shared.migrations import apply_migrations, pending_migrations

        if self.dry_run:
            try:
                pending = pending_migrations(self.conn, self.database)
            finally:
                self.conn.rollback()
            for migration in pending:
                self.changes.append(
                    Change(self.database, migration.file_name, "apply_migration", "pending")
                )
            return
        _execute(self.conn, sql.SQL("SET ROLE {}").format(sql.Identifier(self.roles.owner)))
        try:
            applied = apply_migrations(self.conn, self.database)
        finally:
            self.conn.rollback()
            _execute(self.conn, sql.SQL("RESET ROLE"))
        for migration in applied:
            self.changes.append(
                Change(self.database, migration.file_name, "apply_migration", "applied as owner")
            )

    def ensure_credentials(self, existing: set[str]) -> None:
        for spec in self.roles.specs:
            if spec.login:
                self._ensure_secret(spec, spec.name in existing)

    def _ensure_secret(self, spec: RoleSpec, existed: bool) -> None:
        assert spec.access is not None
        variable = secret_variable(self.database, spec.access)
        state = inspect_secret(
            self.secrets,
            arn=self.environ[variable],
            variable=variable,
            role=spec.name,
            database=self.database,
            environ=self.environ,
            role_exists=existed,
        )
        if state.reason is None:
            return
        self.changes.append(
            Change(
                self.database,
                f"role {spec.name}",
                "set_password",
                f"{state.reason}; a new password is written to {variable}",
            )
        )
        if self.dry_run:
            return
        # os.urandom is the CSPRNG `secrets` wraps; hex keeps the password DSN- and JSON-safe.
        password = os.urandom(PASSWORD_BYTES).hex()
        verifier = encrypt_password(password, spec.name, self.conn, None)
        self.conn.rollback()
        # Order matters for a retry: the role's password changes first, the secret second. A
        # crash in between leaves the old secret, which no longer logs in, so the retry sets
        # yet another password and writes it; running services never see a secret that lies.
        _execute(
            self.conn,
            sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(spec.name)),
            (verifier,),
        )
        write_value(self.secrets, state.arn, spec.name, password)
        logger.info(
            "runtime credentials written",
            extra={"database": self.database, "role": spec.name, "secret_variable": variable},
        )


def _attribute_fixes(spec: RoleSpec, row: tuple[Any, ...]) -> list[str]:
    """The ALTER ROLE options that differ: only those, since naming an attribute (even to keep
    it) can need more privilege than the master has."""
    _name, can_login, inherit, *flags = row
    fixes = [_FLAG_OPTIONS[flag] for flag, value in zip(_ROLE_FLAGS, flags, strict=True) if value]
    if bool(can_login) != spec.login:
        fixes.append("LOGIN" if spec.login else "NOLOGIN")
    if bool(inherit) != spec.inherit:
        fixes.append("INHERIT" if spec.inherit else "NOINHERIT")
    return fixes


def _login_variables(database: str, roles: DatabaseRoles) -> list[str]:
    return [
        secret_variable(database, spec.access)
        for spec in roles.specs
        if spec.login and spec.access is not None and spec.access is not Access.OWNER
    ]


def _eligibility(session: Session, roles: DatabaseRoles) -> str | None:
    """None when this connection can bootstrap; else why not."""
    if session.user == roles.owner:
        return (
            f"the owner connection logs in as the owner role {roles.owner!r} itself, so its roles "
            "are managed elsewhere (the local platform creates them as the superuser)"
        )
    if not session.can_create_roles:
        return f"the owner connection's role {session.user!r} cannot create roles (no CREATEROLE)"
    return None


def run_bootstrap(
    databases: Sequence[str],
    *,
    requested: bool | None,
    dry_run: bool,
    connect: Connect,
    environ: Mapping[str, str],
    secrets: Any = None,
    role_prefix: str = "",
) -> BootstrapReport:
    """Bootstrap each of `databases` that needs it (see the module docstring for the rule)."""
    report = BootstrapReport()
    if requested is False:
        report.skipped = {db: "the event says bootstrap: false" for db in databases}
        return report
    connections: dict[str, Connection] = {}
    try:
        plans = _check_all(databases, requested, connect, environ, role_prefix, connections, report)
        _lock(connections, plans)
        client = secrets if secrets is not None or not plans else secrets_client()
        for database, (session, roles) in plans.items():
            step = DatabaseBootstrap(
                database,
                connections[database],
                session,
                roles,
                dry_run=dry_run,
                environ=environ,
                secrets=client,
            )
            try:
                report.changes.extend(step.run())
            except Exception as exc:
                report.changes.extend(step.changes)
                raise BootstrapError(
                    f"bootstrap of database {database!r} stopped: {_first_line(exc)}; "
                    f"done before it: {len(step.changes)} change(s); a retry resumes from there"
                ) from exc
            report.bootstrapped.append(database)
        return report
    finally:
        for conn in connections.values():
            conn.close()


def _check_all(
    databases: Sequence[str],
    requested: bool | None,
    connect: Connect,
    environ: Mapping[str, str],
    role_prefix: str,
    connections: dict[str, Connection],
    report: BootstrapReport,
) -> dict[str, tuple[Session, DatabaseRoles]]:
    """Connect to each database and decide; every problem is reported before any change."""
    plans: dict[str, tuple[Session, DatabaseRoles]] = {}
    problems: list[str] = []
    unreachable: list[str] = []
    for database in databases:
        roles = database_roles(database, role_prefix)
        try:
            conn = connect(database)
        except (psycopg2.Error, RuntimeError) as exc:
            unreachable.append(f"{database} ({_first_line(exc)})")
            continue
        connections[database] = conn
        session = _session(conn)
        reason = _eligibility(session, roles)
        if reason is not None:
            if requested:
                problems.append(f"{database}: bootstrap: true, but {reason}")
            else:
                report.skipped[database] = reason
            continue
        missing = [name for name in _login_variables(database, roles) if not environ.get(name)]
        if missing:
            problems.append(f"{database}: set {', '.join(missing)} (the secrets to write)")
            continue
        plans[database] = (session, roles)
    if unreachable:
        raise DatabaseUnreachableError(
            f"cannot reach database(s) {'; '.join(unreachable)}; nothing was changed"
        )
    if problems:
        raise BootstrapError(f"cannot bootstrap: {'; '.join(problems)}; nothing was changed")
    return plans


def _lock(connections: Mapping[str, Connection], plans: Mapping[str, Any]) -> None:
    for database in plans:
        conn = connections[database]
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (BOOTSTRAP_LOCK_KEY,))
            row = cur.fetchone()
        conn.commit()
        if not row or not row[0]:
            raise RolloutBusyError(
                f"another bootstrap is running on database {database!r}; nothing was changed"
            )
