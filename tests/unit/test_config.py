"""Environment configuration: every invalid value fails with environment, field and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from environments import ENVIRONMENT_NAMES, ConfigError, load_environment, parse_environment
from environments.loader import read_document
from environments.settings import PROVIDER_SOURCE, find_provider_mirror, load_settings


def with_change(path: str, value: Any, env: str = "dev") -> dict[str, Any]:
    document = read_document(env)
    node = document
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    if value is DELETE:
        node.pop(leaf)
    else:
        node[leaf] = value
    return document


DELETE = object()

INVALID = [
    pytest.param(
        "vpc_cidr",
        "10.20.0.1/16",
        ["vpc_cidr", "'10.20.0.1/16'", "IPv4 network"],
        id="bad-cidr-host-bits",
    ),
    pytest.param("vpc_cidr", "10.300.0.0/16", ["vpc_cidr", "'10.300.0.0/16'"], id="bad-cidr"),
    pytest.param(
        "apps.crm.min_size",
        5,
        ["apps.crm", "min_size (5) must be <= max_size (2)"],
        id="min-greater-than-max",
    ),
    pytest.param(
        "apps.hr.listener_priority",
        10,
        ["apps", "duplicate listener_priority 10", "'crm'", "'hr'"],
        id="duplicate-priority",
    ),
    pytest.param(
        "apps.payroll",
        {"listener_priority": 60},
        ["apps", "unknown app 'payroll'", "allowed: crm, hr, accounting"],
        id="unknown-app",
    ),
    pytest.param(
        "availability_zones",
        [],
        ["availability_zones", "[]", "at least 1 item"],
        id="empty-az-list",
    ),
    pytest.param(
        "availability_zones",
        ["us-east-1a", "us-east-1b"],
        ["availability_zones", "'us-east-1a' is not a zone of region 'eu-west-1'"],
        id="az-outside-region",
    ),
    pytest.param(
        "app_subnet_cidrs",
        ["10.99.0.0/24", "10.20.12.0/23"],
        ["app_subnet_cidrs", "10.99.0.0/24 is not inside vpc_cidr 10.20.0.0/16"],
        id="subnet-outside-vpc",
    ),
    pytest.param(
        "data_subnet_cidrs",
        ["10.20.0.0/24", "10.20.21.0/24"],
        ["data_subnet_cidrs", "10.20.0.0/24 overlaps 10.20.0.0/24 of public_subnet_cidrs"],
        id="overlapping-subnets",
    ),
    pytest.param(
        "public_subnet_cidrs",
        ["10.20.0.0/24"],
        ["public_subnet_cidrs", "1 CIDRs for 2 availability zones"],
        id="subnet-count-mismatch",
    ),
    pytest.param(
        "log_retention_days",
        10,
        ["log_retention_days = 10", "must be one of 1, 3, 5"],
        id="retention-not-allowed",
    ),
    pytest.param(
        "nat_gateways",
        "two",
        ["nat_gateways = 'two'", "'single' or 'per_az'"],
        id="nat-policy-unknown",
    ),
    pytest.param(
        "apps.crm.instance_type",
        "huge",
        ["apps.crm.instance_type = 'huge'", "EC2 instance type"],
        id="bad-instance-type",
    ),
    pytest.param(
        "apps.crm.desired_capacity",
        9,
        ["apps.crm", "desired_capacity (9)"],
        id="desired-outside-range",
    ),
    pytest.param("region", "Europe", ["region = 'Europe'", "AWS region"], id="bad-region"),
    pytest.param("account_id", "12345", ["account_id = '12345'", "^\\d{12}$"], id="bad-account"),
    pytest.param(
        "domain_name", "Not A Domain", ["domain_name = 'Not A Domain'", "DNS name"], id="bad-domain"
    ),
    pytest.param(
        "apps.crm.surprise",
        1,
        ["apps.crm.surprise: is not a setting here; allowed: listener_priority, instance_type"],
        id="unknown-field",
    ),
    pytest.param(
        "database.surprise",
        1,
        ["database.surprise: is not a setting here; allowed: engine_version, multi_az"],
        id="unknown-nested-field",
    ),
    pytest.param(
        "apps.erp",
        {"min_size": 1},
        ["apps: unknown app 'erp'; allowed: crm, hr, accounting"],
        id="unknown-app-without-its-fields",
    ),
    pytest.param("state_bucket", DELETE, ["state_bucket", "Field required"], id="missing-field"),
    pytest.param(
        "alb_deletion_protection",
        "yes",
        ["alb_deletion_protection = 'yes'", "Input should be a valid boolean"],
        id="flag-as-string",
    ),
    pytest.param(
        "log_retention_days",
        "14",
        ["log_retention_days = '14'", "Input should be a valid integer"],
        id="number-as-string",
    ),
    pytest.param(
        "apps.crm.cpu_target_percent",
        "60",
        ["apps.crm.cpu_target_percent = '60'", "Input should be a valid number"],
        id="percent-as-string",
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), INVALID)
def test_config_invalid_value_fails_naming_environment_field_and_value(
    path: str, value: Any, expected: list[str]
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_environment("dev", with_change(path, value))
    message = str(raised.value)
    assert message.startswith("environment 'dev' is invalid:")
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_config_checked_in_environments_are_valid(env: str) -> None:
    config = load_environment(env)
    assert config.stack_id == f"platform-{env}"
    assert config.state_key == f"platform/{env}/terraform.tfstate"


def test_config_unknown_environment_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="'qa' has no qa.toml; known: dev, prod, staging"):
        read_document("qa")


def test_config_prod_protects_data_and_dev_does_not() -> None:
    dev, prod = load_environment("dev"), load_environment("prod")
    assert prod.database.deletion_protection and prod.database.multi_az
    assert prod.nat_gateways == "per_az" and len(prod.availability_zones) == 3
    assert not dev.database.deletion_protection and dev.nat_gateways == "single"


def test_config_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text('region = "eu-west-1"\n')
    (tmp_path / "dev.toml").write_text("vpc_cidr = 10.20.0.0/16\n")

    with pytest.raises(ConfigError, match=r"dev\.toml is not valid TOML: .*line 1"):
        read_document("dev", tmp_path)


def test_config_file_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text('region = "eu-west-1"\n')
    (tmp_path / "dev.toml").write_bytes(b'name_prefix = "platform"\n# caf\xe9\n')

    with pytest.raises(ConfigError, match=r"dev\.toml is not valid TOML: byte 0xe9 at line 2"):
        read_document("dev", tmp_path)


def test_config_cross_field_error_names_the_problem_without_dumping_the_table() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_environment("dev", with_change("public_subnet_cidrs", ["10.99.0.0/24"] * 2))

    message = str(raised.value)
    assert "is not inside vpc_cidr" in message
    assert "'region': " not in message  # the merged environment is not printed back


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("PLATFORM_TARGET", "nonsense", "'offline', 'emulator' or 'aws'"),
        ("PLATFORM_BACKEND", "gcs", "'local' or 's3'"),
        ("PLATFORM_MOTO_PORT", "70000", "less than or equal to 65535"),
        ("PLATFORM_MOTO_PORT", "80", "greater than or equal to 1024"),
        ("PLATFORM_AWS_ENDPOINT_URL", "notaurl", "must be an http(s) URL with a host"),
        ("PLATFORM_AWS_ENDPOINT_URL", "ftp://127.0.0.1:5055", "must be an http(s) URL"),
        ("PLATFORM_AWS_ENDPOINT_URL", "http://127.0.0.1:99999", "has a bad port"),
        ("PLATFORM_AWS_ENDPOINT_URL", "http://127.0.0.1:5055/s3", "no path, query or fragment"),
    ],
)
def test_settings_invalid_variable_is_named_with_value_and_allowed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as raised:
        load_settings()

    assert f"{variable} = {value!r}: " in str(raised.value)
    assert allowed in str(raised.value)


def test_settings_emulator_endpoint_follows_the_local_platform_moto_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLATFORM_AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("PLATFORM_TARGET", "emulator")
    monkeypatch.setenv("PLATFORM_MOTO_PORT", "5075")

    assert load_settings().endpoint == "http://127.0.0.1:5075"

    monkeypatch.setenv("PLATFORM_AWS_ENDPOINT_URL", "http://10.0.0.5:4566")
    assert load_settings().endpoint == "http://10.0.0.5:4566"


def test_mirror_set_to_a_directory_without_the_provider_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        find_provider_mirror(tmp_path)

    message = str(raised.value)
    assert f"PLATFORM_TF_PROVIDER_MIRROR = '{tmp_path}' does not hold {PROVIDER_SOURCE}" in message
    assert "unset it to look in /opt/tf-plugins" in message
    (tmp_path / PROVIDER_SOURCE).mkdir(parents=True)
    assert find_provider_mirror(tmp_path) == tmp_path
