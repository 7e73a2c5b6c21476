"""`make up` on a port another process holds fails at once, naming the setting, and stops
nothing that runs."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from scripts import local_platform
from scripts.platform_services.moto import MotoError, MotoServer
from scripts.platform_services.postgres_server import PostgresError
from scripts.platform_services.settings import LOOPBACK, Settings, port_taken


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port held by a listener that is neither PostgreSQL nor moto_server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen()
        yield listener.getsockname()[1]


class RunningCluster:
    """This checkout's cluster as _start_postgres sees it: running on another port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.calls: list[str] = []

    def running_port(self) -> int:
        return self.port

    def stop(self) -> None:
        self.calls.append("stop")

    def start(self, port: int) -> None:
        self.calls.append(f"start {port}")


def test_port_taken_tells_a_listener_from_a_free_port(taken_port: int) -> None:
    assert port_taken(taken_port) is True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        free = probe.getsockname()[1]
    assert port_taken(free) is False


def test_postgres_on_a_taken_port_fails_before_stopping_the_running_cluster(
    tmp_path: Path, taken_port: int
) -> None:
    settings = replace(Settings.from_env({}), root=tmp_path, pg_port=taken_port)
    cluster = RunningCluster(port=taken_port + 1)

    with pytest.raises(PostgresError, match=f"{taken_port} is taken .* PLATFORM_PG_PORT"):
        local_platform._start_postgres(settings, cluster, lambda message: None)  # type: ignore[arg-type]

    assert cluster.calls == []


def test_moto_on_a_port_held_by_something_else_fails_within_seconds(
    tmp_path: Path, taken_port: int
) -> None:
    moto = MotoServer(
        Path(sys.executable), taken_port, tmp_path / "moto.pid", tmp_path / "moto.log"
    )
    started = time.monotonic()

    with pytest.raises(MotoError, match="does not answer as moto_server: set PLATFORM_MOTO_PORT"):
        local_platform._start_moto(moto, lambda message: None)

    assert time.monotonic() - started < 20
    assert not moto.pid_file.exists()
