"""Tenant lifecycle events on EventBridge, published from the tenant's outbox.

An event is added to the outbox in the transaction of the change it reports, and removed in
the transaction that records its publication, so it is published once per change. A request
that dies between PutEvents and that record publishes it again on retry with the same `id`.

Limitation: that window makes delivery at-least-once (as EventBridge's own delivery is);
PutEvents has no idempotency token. Workaround: consumers deduplicate on `detail.event_id`.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lambdas.tenant_onboarding import aws
from lambdas.tenant_onboarding.settings import EVENT_SOURCE

PUT_EVENTS_BATCH = 10


class PublishError(RuntimeError):
    """EventBridge did not accept every entry."""


def new_event(detail_type: str, tenant_id: uuid.UUID, detail: Mapping[str, Any]) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {
        "id": event_id,
        "detail_type": detail_type,
        "detail": {
            "event_id": event_id,
            "tenant_id": str(tenant_id),
            "occurred_at": datetime.now(UTC).isoformat(),
            **detail,
        },
    }


def publish(bus_name: str, events: Sequence[Mapping[str, Any]]) -> list[str]:
    """PutEvents for `events`; the ids of the published ones, or PublishError."""
    client = aws.client("events")
    published: list[str] = []
    for start in range(0, len(events), PUT_EVENTS_BATCH):
        batch = events[start : start + PUT_EVENTS_BATCH]
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": event["detail_type"],
                "Detail": json.dumps(event["detail"], sort_keys=True),
                "EventBusName": bus_name,
            }
            for event in batch
        ]
        result = client.put_events(Entries=entries)
        if result.get("FailedEntryCount", 0):
            codes = sorted({e.get("ErrorCode", "?") for e in result["Entries"] if "ErrorCode" in e})
            raise PublishError(f"EventBridge refused {result['FailedEntryCount']} events: {codes}")
        published.extend(str(event["id"]) for event in batch)
    return published
