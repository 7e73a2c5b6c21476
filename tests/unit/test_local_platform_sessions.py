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

    def up(self, settings: Settings, *, echo: object) -> PlatformInfo:
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
