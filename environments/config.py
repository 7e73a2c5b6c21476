"""Typed configuration of one environment, validated when it is loaded.

Every rule here exists so that a bad value fails at synth with the environment, the field,
the value and what is allowed, instead of failing later inside `terraform apply`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

APP_NAMES: tuple[str, ...] = ("crm", "hr", "accounting", "inventory", "affiliate")

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

_NAME = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$")
_DB_CLASS = re.compile(r"^db\.[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$")

PositiveInt = Annotated[int, Field(gt=0)]
Percent = Annotated[float, Field(gt=0, le=100)]
Cidr = Annotated[ipaddress.IPv4Network, Field(strict=False)]


class _Frozen(BaseModel):
    # Strict: TOML has its own types, so "yes" for a flag or "14" for a number is a mistake
    # to report, not a value to convert. CIDRs are written as strings (Cidr parses them).
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class AlarmThresholds(_Frozen):
    """Thresholds of the per-app alarms; each alarm fires on the named unit."""

    target_5xx_count: PositiveInt = 10
    unhealthy_hosts: PositiveInt = 1
    latency_p95_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    cpu_percent: Percent = 80
    db_cpu_percent: Percent = 80
    db_free_storage_mb: PositiveInt = 2048
    db_connections: PositiveInt = 200


class AppConfig(_Frozen):
    """Sizing of one business application: its auto scaling group and its database."""

    listener_priority: Annotated[int, Field(ge=1, le=50000)]
    instance_type: str = "t3.small"
    min_size: Annotated[int, Field(ge=0, le=100)] = 1
    max_size: Annotated[int, Field(ge=1, le=100)] = 2
    desired_capacity: Annotated[int, Field(ge=0, le=100)] = 1
    cpu_target_percent: Percent = 50
    health_check_grace_period_seconds: Annotated[int, Field(ge=0, le=7200)] = 300
    db_instance_class: str = "db.t4g.micro"
    db_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 20
    db_max_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 100
    alarms: AlarmThresholds = AlarmThresholds()

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.match(value):
            raise ValueError("must be an EC2 instance type such as 't3.small'")
        return value

    @field_validator("db_instance_class")
    @classmethod
    def _db_class(cls, value: str) -> str:
        if not _DB_CLASS.match(value):
            raise ValueError("must be an RDS instance class such as 'db.t4g.micro'")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> AppConfig:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) must be <= max_size ({self.max_size})")
        if not self.min_size <= self.desired_capacity <= self.max_size:
            raise ValueError(
                f"desired_capacity ({self.desired_capacity}) must lie between min_size "
                f"({self.min_size}) and max_size ({self.max_size})"
            )
        if self.db_max_allocated_storage_gb < self.db_allocated_storage_gb:
            raise ValueError(
                f"db_max_allocated_storage_gb ({self.db_max_allocated_storage_gb}) must be >= "
                f"db_allocated_storage_gb ({self.db_allocated_storage_gb})"
            )
        return self


class DatabasePolicy(_Frozen):
    """Hardening shared by every PostgreSQL instance of the environment."""

    engine_version: Literal["16.4", "16.6", "16.8"] = "16.8"
    multi_az: bool = False
    deletion_protection: bool = False
    final_snapshot: bool = False
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    performance_insights_retention_days: Literal[7, 731] = 7
    core_instance_class: str = "db.t4g.micro"
    core_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 20


class RedisPolicy(_Frozen):
    node_type: str = "cache.t4g.micro"
    replicas: Annotated[int, Field(ge=0, le=5)] = 0
    engine_version: Literal["7.1"] = "7.1"


class CognitoPolicy(_Frozen):
    mfa: Literal["OFF", "OPTIONAL", "ON"] = "OPTIONAL"
    authenticate_alb_rules: bool = False
    domain_prefix: str | None = None


class EnvironmentConfig(_Frozen):
    """One environment: where it runs, its network, its edge and the sizing of each app."""

    name: str
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")]
    region: str
    availability_zones: Annotated[list[str], Field(min_length=1, max_length=6)]
    vpc_cidr: Cidr
    public_subnet_cidrs: list[Cidr]
    app_subnet_cidrs: list[Cidr]
    data_subnet_cidrs: list[Cidr]
    nat_gateways: Literal["single", "per_az"]
    domain_name: str
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,11}$")] = "platform"
    state_bucket: str
    alb_deletion_protection: bool = True
    waf_rate_limit_per_5_minutes: Annotated[int, Field(ge=100, le=2_000_000_000)] = 2000
    log_retention_days: int = 30
    alarm_email: str | None = None
    database: DatabasePolicy = DatabasePolicy()
    redis: RedisPolicy = RedisPolicy()
    cognito: CognitoPolicy = CognitoPolicy()
    apps: dict[str, AppConfig]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 2-10 lowercase letters or digits, starting with a letter")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("must be an AWS region such as 'eu-west-1'")
        return value

    @field_validator("domain_name")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not _DOMAIN.match(value):
            raise ValueError("must be a lowercase DNS name such as 'platform.example.com'")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @field_validator("apps", mode="before")
    @classmethod
    def _app_names(cls, value: object) -> object:
        # Before the tables are read as apps: an unknown app would otherwise first be
        # reported as missing its fields.
        unknown = sorted(set(value) - set(APP_NAMES)) if isinstance(value, dict) else []
        if unknown:
            raise ValueError(f"unknown app {unknown[0]!r}; allowed: {', '.join(APP_NAMES)}")
        return value

    @field_validator("apps")
    @classmethod
    def _apps(cls, value: dict[str, AppConfig]) -> dict[str, AppConfig]:
        missing = [app for app in APP_NAMES if app not in value]
        if missing:
            raise ValueError(f"missing app {missing[0]!r}; every one of {', '.join(APP_NAMES)}")
        priorities: dict[int, str] = {}
        for app in APP_NAMES:
            priority = value[app].listener_priority
            if priority in priorities:
                raise ValueError(
                    f"duplicate listener_priority {priority} for {priorities[priority]!r} and "
                    f"{app!r}; each app needs its own priority"
                )
            priorities[priority] = app
        return {app: value[app] for app in APP_NAMES}

    @model_validator(mode="after")
    def _network(self) -> EnvironmentConfig:
        for zone in self.availability_zones:
            if not (zone.startswith(self.region) and len(zone) == len(self.region) + 1):
                raise ValueError(
                    f"availability_zones: {zone!r} is not a zone of region {self.region!r} "
                    f"(expected {self.region}a, {self.region}b, ...)"
                )
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError(f"availability_zones: duplicate zone in {self.availability_zones}")
        tiers = {
            "public_subnet_cidrs": self.public_subnet_cidrs,
            "app_subnet_cidrs": self.app_subnet_cidrs,
            "data_subnet_cidrs": self.data_subnet_cidrs,
        }
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for field, cidrs in tiers.items():
            if len(cidrs) != len(self.availability_zones):
                raise ValueError(
                    f"{field}: {len(cidrs)} CIDRs for {len(self.availability_zones)} "
                    "availability zones; give exactly one per zone"
                )
            for cidr in cidrs:
                if not cidr.subnet_of(self.vpc_cidr):
                    raise ValueError(f"{field}: {cidr} is not inside vpc_cidr {self.vpc_cidr}")
                for other_field, other in seen:
                    if cidr.overlaps(other):
                        raise ValueError(f"{field}: {cidr} overlaps {other} of {other_field}")
                seen.append((field, cidr))
        return self

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if self.region.startswith("us-gov-") else "aws"

    @property
    def stack_id(self) -> str:
        """The cdktf stack id; also the Terraform working directory under cdktf.out/stacks."""
        return f"{self.name_prefix}-{self.name}"

    @property
    def default_tags(self) -> dict[str, str]:
        """Tags the provider puts on every resource of the stack; the local platform tells a
        deployed resource from its own by them."""
        return {"Project": self.name_prefix, "Environment": self.name, "ManagedBy": "cdktf"}

    @property
    def state_key(self) -> str:
        """The S3 backend key, derived so that it can never point at another environment."""
        return f"{self.name_prefix}/{self.name}/terraform.tfstate"
