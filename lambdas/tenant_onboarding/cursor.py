"""The opaque page cursor of GET /tenants: the sort key of the last tenant of a page.

Pages walk tenants in (created_at, id) order, which the index tenants_created_idx serves, so a
page costs the same wherever it starts and tenants created meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from lambdas.tenant_onboarding.errors import invalid_field

_VERSION = 1
MAX_CURSOR_LENGTH = 200


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    tenant_id: uuid.UUID

    def encode(self) -> str:
        payload = json.dumps(
            {"v": _VERSION, "t": self.created_at.isoformat(), "i": str(self.tenant_id)},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(value: str | None) -> Cursor | None:
    if value is None:
        return None
    invalid = invalid_field("cursor", "is not a cursor returned by this API")
    if not value or len(value) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        payload = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        if not isinstance(payload, dict) or payload.get("v") != _VERSION:
            raise invalid
        created_at = datetime.fromisoformat(str(payload["t"]))
        tenant_id = uuid.UUID(str(payload["i"]))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise invalid from exc
    if created_at.tzinfo is None:
        raise invalid
    return Cursor(created_at, tenant_id)
