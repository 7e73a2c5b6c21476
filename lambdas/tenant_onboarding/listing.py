"""GET /tenants: one page of tenants in creation order, and the cursor of the next page."""

from __future__ import annotations

from typing import Any

from lambdas.tenant_onboarding import repository, views
from lambdas.tenant_onboarding.connections import core
from lambdas.tenant_onboarding.cursor import Cursor, decode_cursor


def list_tenants(limit: int, cursor: str | None) -> dict[str, Any]:
    after = decode_cursor(cursor)
    with core().as_control_plane() as cur:
        # One extra row says whether a next page exists without a count query.
        tenants = repository.page(
            cur, (after.created_at, after.tenant_id) if after else None, limit + 1
        )
    next_cursor = None
    if len(tenants) > limit:
        tenants = tenants[:limit]
        last = tenants[-1]
        next_cursor = Cursor(last.created_at, last.id).encode()
    return views.page(tenants, next_cursor)
