"""The one place that builds physical names, so they are stable and within AWS limits.

Pure Python (no cdktf import): scripts and Lambdas use it too, so that the local platform
names its buckets exactly as the deployed environment does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from environments.config import EnvironmentConfig

# Limits from the AWS API references of each resource type.
ALB_NAME_MAX = 32  # elbv2 CreateLoadBalancer: 32 alphanumerics or hyphens
TARGET_GROUP_NAME_MAX = 32  # elbv2 CreateTargetGroup
BUCKET_NAME_MAX = 63
DB_IDENTIFIER_MAX = 63
GENERIC_NAME_MAX = 64  # IAM role names, SQS queues, Lambda functions

_INVALID = re.compile(r"[^a-z0-9-]+")


def _fit(name: str, limit: int) -> str:
    """Shorten `name` to `limit` with a digest of the full name, so it stays unique."""
    name = _INVALID.sub("-", name.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class Naming:
    """Builds every physical name of one environment: `<prefix>-<env>-<parts>`."""

    prefix: str
    environment: str
    domain_name: str

    @classmethod
    def for_environment(cls, config: EnvironmentConfig) -> Naming:
        return cls(config.name_prefix, config.name, config.domain_name)

    @property
    def base(self) -> str:
        return f"{self.prefix}-{self.environment}"

    def name(self, *parts: str, limit: int = GENERIC_NAME_MAX) -> str:
        return _fit("-".join((self.base, *parts)), limit)

    def alb(self) -> str:
        return self.name("alb", limit=ALB_NAME_MAX)

    def target_group(self, app: str) -> str:
        return self.name(app, limit=TARGET_GROUP_NAME_MAX)

    def db_identifier(self, database: str) -> str:
        return self.name(database, "db", limit=DB_IDENTIFIER_MAX)

    def globally_unique(self, purpose: str, limit: int = BUCKET_NAME_MAX) -> str:
        """For names shared by every AWS account (buckets, Cognito domains): a digest of the
        domain keeps two platforms with the same prefix apart."""
        suffix = hashlib.sha256(f"{self.domain_name}/{self.base}".encode()).hexdigest()[:8]
        return _fit(f"{self.base}-{purpose}-{suffix}", limit)

    def bucket(self, purpose: str) -> str:
        return self.globally_unique(purpose, BUCKET_NAME_MAX)

    def log_group(self, *parts: str) -> str:
        return "/" + "/".join((self.prefix, self.environment, *parts))
