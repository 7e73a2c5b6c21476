"""boto3 clients, created on first use and reused by warm invocations.

boto3 is imported here on first use only: it is the heaviest import of the function and most
GET requests never need it. Every client honours `AWS_ENDPOINT_URL` (moto_server locally).
Creation is serialised by a lock because a boto3 session is not thread-safe; the clients
themselves are.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_clients: dict[str, Any] = {}
_session: Any = None
_lock = threading.Lock()


def client(service: str) -> Any:
    global _session
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            if _session is None:
                # One session: its loader caches service models across clients.
                _session = boto3.session.Session()
            _clients[service] = _session.client(
                service,
                endpoint_url=os.getenv("AWS_ENDPOINT_URL") or None,
                config=Config(retries={"mode": "standard", "max_attempts": 3}),
            )
        return _clients[service]


def reset_clients() -> None:
    """Forget every client and the session, e.g. after a test started a new moto mock."""
    global _session
    with _lock:
        _clients.clear()
        _session = None


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None
