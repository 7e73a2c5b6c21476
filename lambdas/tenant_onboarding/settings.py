"""The function's environment contract and its fixed limits.

Read at use, not at import, so a test (or a warm container after a configuration change) sees
the current values. Database connections are not here: `lambdas.shared.dsn` resolves
`<DB>_DB_APP_SECRET_ARN` or `<DB>_DB_APP_DSN` for the core database and the five apps.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

APPS: tuple[str, ...] = ("crm", "hr", "accounting", "inventory", "affiliate")
RESERVED_SLUGS: frozenset[str] = frozenset({"www", "api", "admin", "app", "mail", "static", *APPS})
# How a tenant id is written in a path. A reference of this shape is looked up as an id, so no
# slug may have it.
TENANT_ID_SHAPE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

MAX_BODY_BYTES = 64 * 1024
# A request holds its tenant for this long and renews it after every step; a request that
# dies (timeout, out of memory) blocks retries at most this long. Keep the function timeout
# below it (API Gateway gives up after 29 s anyway).
LEASE_SECONDS = 60
# How long a POST waits for another request working on the same tenant before 409.
LEASE_WAIT_SECONDS = 3.0
LEASE_POLL_SECONDS = 0.2
# What a 409 or 503 response suggests in Retry-After.
RETRY_AFTER_SECONDS = 5

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

# The group the infrastructure creates (modules/identity.py TENANT_ADMIN_GROUP).
ADMIN_GROUP = "tenant-admins"
EVENT_SOURCE = "tenant-platform.tenants"
SSO_SECRET_PREFIX = "tenant-sso/"


class SettingsError(RuntimeError):
    """A required environment variable is missing."""


@dataclass(frozen=True)
class Settings:
    user_pool_id: str
    document_bucket: str
    event_bus_name: str

    @classmethod
    def from_env(cls) -> Settings:
        missing = [name for name in ("USER_POOL_ID", "DOCUMENT_BUCKET") if not os.getenv(name)]
        if missing:
            raise SettingsError(f"environment variables not set: {', '.join(missing)}")
        return cls(
            user_pool_id=os.environ["USER_POOL_ID"],
            document_bucket=os.environ["DOCUMENT_BUCKET"],
            event_bus_name=os.getenv("EVENT_BUS_NAME") or "default",
        )
