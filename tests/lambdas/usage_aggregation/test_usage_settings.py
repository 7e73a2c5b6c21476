"""Settings of the job, from the environment."""

from __future__ import annotations

import pytest

from lambdas.usage_aggregation.settings import Settings, SettingsError

BASE = {"PLATFORM_DOMAIN": "Platform.Example.com.", "LOG_BUCKET": "logs", "DOCUMENT_BUCKET": "docs"}


def test_settings_defaults() -> None:
    settings = Settings.from_env(BASE)

    assert settings == Settings(
        platform_domain="platform.example.com", log_bucket="logs", document_bucket="docs"
    )
    assert settings.next_day_minutes == 15
    assert (settings.event_bus_name, settings.event_source) == ("default", "tenant-platform.usage")


def test_settings_every_variable() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "DOCUMENT_BUCKET": "documents",
            "EVENT_BUS_NAME": "platform-dev-bus",
            "USAGE_EVENT_SOURCE": "platform.usage",
            "ALB_LOG_PREFIX": "/alb/dev/",
            "ALB_LOG_ACCOUNT_ID": "111122223333",
            "ALB_LOG_REGION": "eu-west-1",
            "USAGE_NEXT_DAY_MINUTES": "30",
        }
    )

    assert settings.document_bucket == "documents"
    assert settings.log_prefix == "alb/dev/"
    assert (settings.log_account_id, settings.log_region) == ("111122223333", "eu-west-1")
    assert settings.next_day_minutes == 30
    assert (settings.event_bus_name, settings.event_source) == (
        "platform-dev-bus",
        "platform.usage",
    )


@pytest.mark.parametrize(
    ("case", "override", "message"),
    [
        ("no-domain", {"PLATFORM_DOMAIN": ""}, "PLATFORM_DOMAIN must be set"),
        ("bad-domain", {"PLATFORM_DOMAIN": "not a domain"}, "PLATFORM_DOMAIN must be a DNS name"),
        ("no-log-bucket", {"LOG_BUCKET": " "}, "LOG_BUCKET must be set"),
        ("no-document-bucket", {"DOCUMENT_BUCKET": ""}, "DOCUMENT_BUCKET must be set"),
        ("bad-account", {"ALB_LOG_ACCOUNT_ID": "1111"}, "ALB_LOG_ACCOUNT_ID must be 12 digits"),
        ("bad-region", {"ALB_LOG_REGION": "Ireland"}, "ALB_LOG_REGION must be a region"),
        ("minutes-word", {"USAGE_NEXT_DAY_MINUTES": "ten"}, "USAGE_NEXT_DAY_MINUTES must be"),
        ("minutes-over-a-day", {"USAGE_NEXT_DAY_MINUTES": "1441"}, "from 0 to 1440"),
        ("minutes-negative", {"USAGE_NEXT_DAY_MINUTES": "-5"}, "got '-5'"),
    ],
)
def test_settings_invalid_values_name_the_variable(
    case: str, override: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**BASE, **override})
