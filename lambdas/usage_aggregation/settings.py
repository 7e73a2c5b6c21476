"""Settings of the usage aggregation job, read from the environment the construct sets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_NEXT_DAY_MINUTES = 15
DEFAULT_EVENT_SOURCE = "tenant-platform.usage"
DEFAULT_EVENT_BUS = "default"
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class SettingsError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Where the job reads and writes.

    `next_day_minutes`: files of the next day's prefix whose name says they end at most
    this many minutes after midnight are read too (entries of requests that started before
    midnight are written just after it).
    """

    # Limitation: ALB logs a request when it completes, so a WebSocket connection opened
    # before midnight and closed more than `next_day_minutes` after it lands in a file the
    # job does not read, and is not counted. Workaround: raise USAGE_NEXT_DAY_MINUTES (up to
    # 1440 reads the whole next day). Entry timing:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html

    platform_domain: str
    log_bucket: str
    document_bucket: str = ""
    log_prefix: str = ""
    log_account_id: str | None = None
    log_region: str | None = None
    next_day_minutes: int = DEFAULT_NEXT_DAY_MINUTES
    event_bus_name: str = DEFAULT_EVENT_BUS
    event_source: str = DEFAULT_EVENT_SOURCE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        domain = _required(env, "PLATFORM_DOMAIN").lower().rstrip(".")
        if not _DOMAIN.fullmatch(domain):
            raise SettingsError(f"PLATFORM_DOMAIN must be a DNS name, got {domain!r}")
        prefix = env.get("ALB_LOG_PREFIX", "").strip("/")
        account = env.get("ALB_LOG_ACCOUNT_ID") or None
        if account is not None and not _ACCOUNT.fullmatch(account):
            raise SettingsError(f"ALB_LOG_ACCOUNT_ID must be 12 digits, got {account!r}")
        region = env.get("ALB_LOG_REGION") or None
        if region is not None and not _REGION.fullmatch(region):
            raise SettingsError(
                f"ALB_LOG_REGION must be a region such as eu-west-1, got {region!r}"
            )
        return cls(
            platform_domain=domain,
            log_bucket=_required(env, "LOG_BUCKET"),
            document_bucket=_required(env, "DOCUMENT_BUCKET"),
            log_prefix=f"{prefix}/" if prefix else "",
            log_account_id=account,
            log_region=region,
            next_day_minutes=_minutes(env.get("USAGE_NEXT_DAY_MINUTES")),
            event_bus_name=env.get("EVENT_BUS_NAME") or DEFAULT_EVENT_BUS,
            event_source=env.get("USAGE_EVENT_SOURCE") or DEFAULT_EVENT_SOURCE,
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} must be set")
    return value


def _minutes(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_NEXT_DAY_MINUTES
    if not value.strip().isdigit() or int(value) > 24 * 60:
        raise SettingsError(
            f"USAGE_NEXT_DAY_MINUTES must be a whole number of minutes from 0 to 1440, "
            f"got {value!r}"
        )
    return int(value)
