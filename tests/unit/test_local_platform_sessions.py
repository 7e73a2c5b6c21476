"""Test sessions share the local platform: whoever started it, the last session stops it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from scripts import local_platform
from scripts.local_platform import MOTO, POSTGRES, PlatformInfo, session_lease
from scripts.platform_services.settings import Settings


class FakeServers:
    """Stands in for up() and the stop step, recording what a session started and stopped."""

    def __init__(self, starts: list[frozenset[str]]) -> None:
        self.starts = starts
        self.stopped: list[frozenset[str]] = []

    def up(self, settings: Settings, *, echo: object, stop_on_failure: bool) -> PlatformInfo:
        assert stop_on_failure  # a session never leaves half-started servers behind
        started = self.starts.pop(0) if self.starts else frozenset()
        return PlatformInfo({}, settings.env_file, started)

    def stop(self, settings: Settings, services: frozenset[str], echo: object) -> None:
        self.stopped.append(services)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(Settings.from_env({}), root=tmp_path)


def _install(monkeypatch: pytest.MonkeyPatch, fake: FakeServers) -> None:
    monkeypatch.setattr(local_platform, "up", fake.up)
    monkeypatch.setattr(local_platform, "_stop", fake.stop)


def test_last_session_stops_what_a_session_started(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeServers([frozenset({POSTGRES, MOTO})])
    _install(monkeypatch, fake)
    settings.local_dir.mkdir()
    settings.sessions_dir.mkdir()
    concurrent = settings.sessions_dir / str(os.getppid())
    concurrent.touch()

    with session_lease(settings, echo=print):
        pass
    stopped_while_shared = list(fake.stopped)
    concurrent.unlink()
    with session_lease(settings, echo=print):
        pass

    assert stopped_while_shared == []
    assert fake.stopped == [frozenset({POSTGRES, MOTO})]


def test_servers_started_by_a_person_stay_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeServers([])
    _install(monkeypatch, fake)

    with session_lease(settings, echo=print):
        pass

    assert fake.stopped == []


def test_lease_of_a_dead_session_does_not_keep_servers_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeServers([frozenset({MOTO})])
    _install(monkeypatch, fake)
    settings.local_dir.mkdir()
    settings.sessions_dir.mkdir()
    (settings.sessions_dir / "999999999").touch()

    with session_lease(settings, echo=print):
        pass

    assert fake.stopped == [frozenset({MOTO})]
    assert list(settings.sessions_dir.iterdir()) == []


def test_up_that_fails_stops_the_servers_it_started_only_when_asked(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[frozenset[str]] = []

    def provision_fails(*args: object) -> dict[str, str]:
        raise RuntimeError("a migration failed")

    monkeypatch.setattr(local_platform, "_cluster", lambda settings: None)
    monkeypatch.setattr(local_platform, "_moto", lambda settings: None)
    monkeypatch.setattr(local_platform, "_start_postgres", lambda settings, cluster, echo: True)
    monkeypatch.setattr(local_platform, "_start_moto", lambda moto, echo: False)  # already up
    monkeypatch.setattr(local_platform, "_provision", provision_fails)
    monkeypatch.setattr(
        local_platform, "_stop", lambda settings, services, echo: stopped.append(services)
    )

    with pytest.raises(RuntimeError, match="a migration failed"):
        local_platform.up(settings, echo=print)
    left_up = list(stopped)
    with pytest.raises(RuntimeError, match="a migration failed"):
        local_platform.up(settings, echo=print, stop_on_failure=True)

    assert left_up == []  # a person's `make up` keeps them for a look
    assert stopped == [frozenset({POSTGRES})]  # never the moto_server it found running
