"""The local platform: PostgreSQL and moto_server on loopback, and `.local/platform.env`.

    python -m scripts.local_platform up|down|status

`make up`, `make down` and the test suite (tests/conftest.py) all go through `up()`, `down()`
and `session_lease()` here. Settings: PLATFORM_PG_PORT (54329), PLATFORM_MOTO_PORT (5055),
PLATFORM_PG_OS_USER (tenantpg, used when run as root), PLATFORM_PG_BIN (auto-detected).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from environments import load_environment
from lambdas.shared.db import Connection
from modules.identity_names import PLATFORM_ADMIN_GROUP, TENANT_ADMIN_GROUP
from modules.naming import Naming
from scripts.platform_services import provision
from scripts.platform_services.files import read_env_file, role_passwords, write_env_file
from scripts.platform_services.moto import FOREIGN_READY_TIMEOUT_SECONDS, MotoError, MotoServer
from scripts.platform_services.os_user import ensure_system_user, server_user
from scripts.platform_services.postgres_server import Cluster, PostgresError, locate_cluster
from scripts.platform_services.settings import Settings, port_taken

Echo = Callable[[str], None]
LOCAL_ENVIRONMENT = "dev"
POSTGRES, MOTO = "postgres", "moto"
_STARTED_BY_TESTS = "started-by-tests"


@dataclass(frozen=True)
class PlatformInfo:
    """What `up()` produced: the platform.env values, and which servers this call started."""

    env: dict[str, str]
    env_file: Path
    started: frozenset[str]


def _echo(message: str) -> None:
    print(f"local platform: {message}", flush=True)


@contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One `up`/`down` at a time per checkout, across processes."""
    settings.local_dir.mkdir(exist_ok=True)
    with settings.lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cluster(settings: Settings) -> Cluster:
    user = server_user(settings.pg_os_user)
    if user:
        ensure_system_user(user)
    return locate_cluster(settings, user)


def _moto(settings: Settings) -> MotoServer:
    return MotoServer(
        settings.moto_bin, settings.moto_port, settings.moto_pid_file, settings.moto_log_file
    )


def _aws_settings(settings: Settings) -> tuple[dict[str, str], list[str]]:
    """AWS variables and bucket names, named exactly as the deployed dev environment."""
    config = load_environment(LOCAL_ENVIRONMENT)
    naming = Naming.for_environment(config)
    buckets = {"DOCUMENT_BUCKET": naming.bucket("documents"), "LOG_BUCKET": naming.bucket("logs")}
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{settings.moto_port}",
        "AWS_DEFAULT_REGION": config.region,
        "AWS_REGION": config.region,
        "AWS_ACCESS_KEY_ID": provision.DUMMY_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": provision.DUMMY_AWS_KEY,
        # The usage aggregation attributes requests by host under this domain.
        "PLATFORM_DOMAIN": config.domain_name,
        **buckets,
    }
    return env, list(buckets.values())


def _start_postgres(settings: Settings, cluster: Cluster, echo: Echo) -> bool:
    running = cluster.running_port()
    if running == settings.pg_port:
        echo(f"PostgreSQL already running on 127.0.0.1:{running} ({cluster.base})")
        return False
    # Checked before anything is stopped: a taken port must not cost the running cluster.
    if port_taken(settings.pg_port):
        raise PostgresError(
            f"127.0.0.1:{settings.pg_port} is taken by another process, not this checkout's "
            f"PostgreSQL: set PLATFORM_PG_PORT to a free port"
        )
    if running is not None:
        echo(f"PostgreSQL runs on port {running}; restarting on {settings.pg_port}")
        cluster.stop()
    if not cluster.is_initialized():
        echo(f"creating the PostgreSQL cluster in {cluster.data}")
        cluster.initialize()
    echo(f"starting PostgreSQL on 127.0.0.1:{settings.pg_port} (log {cluster.log_file})")
    cluster.start(settings.pg_port)
    return True


def _start_moto(moto: MotoServer, echo: Echo) -> bool:
    if moto.own_pid() is not None:
        moto.wait_until_answering()
        echo(f"moto_server already answering on {moto.endpoint}")
        return False
    if moto.port_taken():
        try:
            moto.wait_until_answering(timeout_seconds=FOREIGN_READY_TIMEOUT_SECONDS)
        except MotoError:
            raise MotoError(
                f"{moto.endpoint} is taken by a process that does not answer as moto_server: "
                f"set PLATFORM_MOTO_PORT to a free port"
            ) from None
        echo(f"moto_server already answering on {moto.endpoint} (not started by this checkout)")
        return False
    echo(f"starting moto_server on {moto.endpoint} (log {moto.log_file})")
    moto.start()
    return True


def _provision(settings: Settings, cluster: Cluster, echo: Echo) -> dict[str, str]:
    passwords = role_passwords(settings.passwords_file, provision.platform_roles())
    admin = cluster.admin_connection(settings.pg_port)
    try:
        created = provision.ensure_roles(admin, passwords)
        echo(f"roles ready ({len(created)} created)")
        created = provision.ensure_databases(
            admin, lambda db: cluster.admin_connection(settings.pg_port, db)
        )
        echo(f"databases ready ({', '.join(created) or 'none'} created)")
    finally:
        admin.close()
    aws, buckets = _aws_settings(settings)
    env = provision.platform_env(passwords, settings.pg_port, aws)
    applied = provision.migrate(env, echo)
    echo(f"migrations applied: {applied}")
    report = provision.rollout(env)
    echo(
        f"RLS rollout: {report.tables_checked} tenant tables checked, "
        f"{len(report.changes)} changes, {len(report.drift)} drift"
    )
    created = provision.ensure_buckets(env, buckets)
    echo(f"buckets ready: {', '.join(buckets)} ({len(created)} created)")
    env = {**env, "USER_POOL_ID": _user_pool(env, echo), "EVENT_BUS_NAME": "default"}
    write_env_file(settings.env_file, env)
    echo(f"wrote {settings.env_file}")
    return env


def _user_pool(env: Mapping[str, str], echo: Echo) -> str:
    config = load_environment(LOCAL_ENVIRONMENT)
    pool_id, how = provision.ensure_user_pool(
        env,
        Naming.for_environment(config).name("users"),
        [TENANT_ADMIN_GROUP, PLATFORM_ADMIN_GROUP],
        config.default_tags,
    )
    echo(f"user pool ready: {pool_id} ({how})")
    return pool_id


def refresh_user_pool(settings: Settings | None = None, *, echo: Echo = _echo) -> dict[str, str]:
    """Point platform.env at the dev stack's user pool once it is deployed into the emulator
    (what `make up` would choose now); the updated variables."""
    settings = settings or Settings.from_env()
    with _exclusive(settings):
        env = read_env_file(settings.env_file)
        pool_id = _user_pool(env, echo)
        if env.get("USER_POOL_ID") != pool_id:
            env["USER_POOL_ID"] = pool_id
            write_env_file(settings.env_file, env)
            echo(f"wrote {settings.env_file}: USER_POOL_ID={pool_id}")
    return env


def up(
    settings: Settings | None = None, *, echo: Echo = _echo, stop_on_failure: bool = False
) -> PlatformInfo:
    """Start whatever is not running, converge databases and buckets, write platform.env.

    If a step fails, the servers this call started stay up for a person to look at (`make
    down` stops them), or are stopped again with `stop_on_failure` (test sessions, benchmarks).
    """
    settings = settings or Settings.from_env()
    with _exclusive(settings):
        cluster = _cluster(settings)
        started: set[str] = set()
        try:
            if _start_postgres(settings, cluster, echo):
                started.add(POSTGRES)
            if _start_moto(_moto(settings), echo):
                started.add(MOTO)
            env = _provision(settings, cluster, echo)
        except BaseException:
            if stop_on_failure and started:
                _stop(settings, frozenset(started), echo)
            raise
    return PlatformInfo(env, settings.env_file, frozenset(started))


def down(
    settings: Settings | None = None,
    *,
    services: frozenset[str] = frozenset({POSTGRES, MOTO}),
    echo: Echo = _echo,
) -> None:
    """Stop the servers of this checkout; harmless when none runs. Data stays in place."""
    settings = settings or Settings.from_env()
    with _exclusive(settings):
        _stop(settings, services, echo)


def _stop(settings: Settings, services: frozenset[str], echo: Echo) -> None:
    if MOTO in services:
        stopped = _moto(settings).stop()
        # stop() only stops the server this checkout started (its pid file), never another's.
        echo("stopped moto_server" if stopped else "moto_server of this checkout was not running")
    if POSTGRES in services:
        cluster = _cluster(settings)
        if cluster.running_port() is None:
            echo("PostgreSQL was not running")
        else:
            cluster.stop()
            echo("stopped PostgreSQL")


def is_running(settings: Settings | None = None) -> bool:
    """Both servers answer with this checkout's settings."""
    settings = settings or Settings.from_env()
    running = _cluster(settings).running_port() == settings.pg_port
    return running and _moto(settings).answers()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _live_sessions(settings: Settings) -> list[Path]:
    leases = []
    for lease in settings.sessions_dir.glob("[0-9]*"):
        if _alive(int(lease.name)):
            leases.append(lease)
        else:
            lease.unlink(missing_ok=True)
    return leases


@contextmanager
def session_lease(
    settings: Settings | None = None, *, echo: Echo = _echo
) -> Iterator[PlatformInfo]:
    """The platform for one test session, shared with concurrent sessions of this checkout.

    Each session holds a lease while it runs. Servers that a test session started are stopped
    when the last session's lease ends; servers started by a person (`make up`) stay up.
    """
    settings = settings or Settings.from_env()
    marker = settings.sessions_dir / _STARTED_BY_TESTS
    lease = settings.sessions_dir / str(os.getpid())
    # The lease comes first, so a session that ends meanwhile cannot stop servers under us.
    with _exclusive(settings):
        settings.sessions_dir.mkdir(exist_ok=True)
        lease.touch()
    try:
        info = up(settings, echo=echo, stop_on_failure=True)
        with _exclusive(settings):
            recorded = set(marker.read_text().split()) if marker.is_file() else set()
            if info.started | recorded:
                marker.write_text(" ".join(sorted(info.started | recorded)) + "\n")
        yield info
    finally:
        with _exclusive(settings):
            lease.unlink(missing_ok=True)
            if marker.is_file() and not _live_sessions(settings):
                services = frozenset(marker.read_text().split())
                marker.unlink()
                _stop(settings, services, echo)


def _claim_for_person(settings: Settings) -> None:
    """`make up` by a person keeps the servers up even if a test session started them."""
    (settings.sessions_dir / _STARTED_BY_TESTS).unlink(missing_ok=True)


def superuser_connection(settings: Settings | None = None, dbname: str = "postgres") -> Connection:
    """The superuser, over the private socket: for tests and operators, never for services."""
    settings = settings or Settings.from_env()
    return _cluster(settings).admin_connection(settings.pg_port, dbname)


def status(settings: Settings | None = None) -> dict[str, str]:
    settings = settings or Settings.from_env()
    cluster = _cluster(settings)
    port = cluster.running_port()
    return {
        "postgres": f"running on 127.0.0.1:{port}" if port else "stopped",
        "postgres data": str(cluster.data),
        "moto_server": "answering" if _moto(settings).answers() else "stopped",
        "env file": str(settings.env_file) if settings.env_file.is_file() else "(none)",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local_platform", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "up":
        up(settings)
        _claim_for_person(settings)
    elif args.command == "down":
        down(settings)
    else:
        for key, value in status(settings).items():
            _echo(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # a CLI prints the reason, not a traceback
        print(f"local platform: error: {error}", file=sys.stderr)
        sys.exit(1)
