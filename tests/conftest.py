"""Session fixtures shared by every test folder: the local platform and its settings.

`local_platform` brings PostgreSQL and moto_server up through the same code as `make up`
(scripts.local_platform), once per session. Servers the session started are stopped when the
last concurrent test session of this checkout ends; servers someone started with `make up`
stay up. Tests that use it are marked `postgres` automatically.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.local_platform import PlatformInfo, session_lease

PLATFORM_FIXTURE = "local_platform"


@pytest.fixture(scope="session")
def local_platform() -> Iterator[PlatformInfo]:
    with session_lease() as info:
        yield info


@pytest.fixture(scope="session")
def platform_env(local_platform: PlatformInfo) -> dict[str, str]:
    """The values of `.local/platform.env` (DSNs, AWS endpoint, region, bucket names)."""
    return dict(local_platform.env)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PLATFORM_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
