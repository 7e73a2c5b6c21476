from __future__ import annotations

import pytest

from environments import APP_NAMES, ENVIRONMENT_NAMES, load_environment
from modules.naming import ALB_NAME_MAX, BUCKET_NAME_MAX, TARGET_GROUP_NAME_MAX, Naming


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_naming_fits_limits_for_every_environment(env: str) -> None:
    naming = Naming.for_environment(load_environment(env))
    assert len(naming.alb()) <= ALB_NAME_MAX
    for app in APP_NAMES:
        assert len(naming.target_group(app)) <= TARGET_GROUP_NAME_MAX
    assert len(naming.bucket("documents")) <= BUCKET_NAME_MAX


def test_naming_shortens_long_names_stably_and_distinctly() -> None:
    naming = Naming("platform", "preproduction", "example.com")
    first = naming.target_group("accounting-and-finance-ledger")
    assert len(first) == TARGET_GROUP_NAME_MAX
    assert first == naming.target_group("accounting-and-finance-ledger")
    assert first != naming.target_group("accounting-and-finance-ledgers")
    assert not first.endswith("-") and "--" not in first


def test_naming_buckets_differ_between_platforms_with_other_domains() -> None:
    one = Naming("platform", "dev", "a.example.com").bucket("logs")
    two = Naming("platform", "dev", "b.example.com").bucket("logs")
    assert one != two and one.startswith("platform-dev-logs-")


def test_naming_replaces_characters_aws_rejects() -> None:
    assert Naming("platform", "dev", "x.com").name("My_App.v2") == "platform-dev-my-app-v2"
