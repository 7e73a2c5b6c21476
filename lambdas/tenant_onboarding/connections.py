"""The data-access helpers of the six databases, one set per thread, reused while warm.

`lambdas.shared.db.Database` keeps one connection and is not safe across threads. Lambda runs
one invocation at a time per environment, so in AWS this is one set for the container's life;
tests that call the handler from many threads get one set per thread.
"""

from __future__ import annotations

import threading

from lambdas.shared.databases import CORE, Access
from lambdas.shared.db import Database

_local = threading.local()


def database(name: str) -> Database:
    """The runtime-role helper of `name`; for the core database, the control-plane role."""
    registry: dict[str, Database] | None = getattr(_local, "registry", None)
    if registry is None:
        registry = {}
        _local.registry = registry
    if name not in registry:
        registry[name] = Database(name, Access.APP)
    return registry[name]


def core() -> Database:
    return database(CORE)


def close_thread_connections() -> None:
    registry: dict[str, Database] = getattr(_local, "registry", {})
    for helper in registry.values():
        helper.close()
    registry.clear()
