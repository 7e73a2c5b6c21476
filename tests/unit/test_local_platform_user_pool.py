"""The local platform's user pool: its own until dev is deployed into the emulator, then the
deployed stack's, so that hand calls and the deployed functions share one pool."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from scripts import local_platform
from scripts.platform_services import provision
from scripts.platform_services.files import read_env_file, write_env_file
from scripts.platform_services.provision import ensure_user_pool
from scripts.platform_services.settings import Settings

NAME = "platform-dev-users"
GROUPS = ["tenant-admins", "platform-admins"]
DEPLOYED_TAGS = {"Project": "platform", "Environment": "dev", "ManagedBy": "cdktf"}


@pytest.fixture
def emulator() -> Iterator[dict[str, str]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # The server's backends are this process's, shared with in-process mocks: start and leave
    # them empty.
    reset = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()
    try:
        yield {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
    finally:
        urllib.request.urlopen(reset).close()
        server.stop()


def _cognito(env: dict[str, str]) -> Any:
    return provision._emulator_client(env, "cognito-idp")


def test_user_pool_is_created_once_with_the_platform_groups(emulator: dict[str, str]) -> None:
    pool_id, how = ensure_user_pool(emulator, NAME, GROUPS, DEPLOYED_TAGS)
    again = ensure_user_pool(emulator, NAME, GROUPS, DEPLOYED_TAGS)

    assert how == "created"
    assert again == (pool_id, "existing")
    groups = _cognito(emulator).list_groups(UserPoolId=pool_id)["Groups"]
    assert sorted(group["GroupName"] for group in groups) == sorted(GROUPS)


def test_user_pool_of_the_deployed_stack_wins_over_the_local_one(
    emulator: dict[str, str],
) -> None:
    local_id, _ = ensure_user_pool(emulator, NAME, GROUPS, DEPLOYED_TAGS)
    cognito = _cognito(emulator)
    other_stack = cognito.create_user_pool(
        PoolName=NAME, UserPoolTags={**DEPLOYED_TAGS, "Environment": "staging"}
    )["UserPool"]["Id"]
    deployed = cognito.create_user_pool(PoolName=NAME, UserPoolTags=DEPLOYED_TAGS)["UserPool"]["Id"]

    assert ensure_user_pool(emulator, NAME, GROUPS, DEPLOYED_TAGS) == (deployed, "deployed")
    assert local_id != deployed != other_stack


def test_refresh_points_platform_env_at_the_deployed_pool(
    emulator: dict[str, str], tmp_path: Path
) -> None:
    settings = replace(Settings.from_env({}), root=tmp_path)
    local_id, _ = ensure_user_pool(emulator, NAME, GROUPS, DEPLOYED_TAGS)
    settings.local_dir.mkdir()
    write_env_file(settings.env_file, {**emulator, "USER_POOL_ID": local_id})
    deployed = _cognito(emulator).create_user_pool(PoolName=NAME, UserPoolTags=DEPLOYED_TAGS)
    messages: list[str] = []

    env = local_platform.refresh_user_pool(settings, echo=messages.append)

    assert env["USER_POOL_ID"] == deployed["UserPool"]["Id"]
    assert read_env_file(settings.env_file) == env
    assert env["AWS_ENDPOINT_URL"] == emulator["AWS_ENDPOINT_URL"]  # the rest kept
