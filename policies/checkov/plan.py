"""A read-only view of ``terraform show -json`` output: planned values and configuration.

Offline, every ARN that AWS assigns is unknown at plan time, so a value that refers to one is
missing from the planned values. The configuration keeps the expression of every argument
(cdktf writes JSON, so each is a ``constant_value`` string such as ``${aws_x.y.arn}``, with
its ``references``); the checks read that where the planned value is unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.checkov.findings import GateInputError

SUPPORTED_FORMAT_MAJOR = "1"


@dataclass(frozen=True)
class Resource:
    """One resource or data source: its planned values and its configured expressions."""

    address: str
    type: str
    mode: str
    values: dict[str, Any]
    expressions: dict[str, Any]
    module_prefix: str = ""

    def expression(self, *path: str | int) -> Any:
        """The configured expression at ``path`` (names and list indexes), or None."""
        node: Any = self.expressions
        for step in path:
            if isinstance(step, int):
                node = node[step] if isinstance(node, list) and step < len(node) else None
            else:
                node = node.get(step) if isinstance(node, dict) else None
            if node is None:
                return None
        return node

    def qualify(self, reference: str) -> str:
        """A reference written in this resource's module, as an absolute address."""
        return f"{self.module_prefix}{reference}"


@dataclass(frozen=True)
class Plan:
    """Resources by address; ``environment`` is the name the gate planned it for."""

    environment: str
    resources: dict[str, Resource] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[Resource]:
        return [resource for resource in self.resources.values() if resource.type in types]

    def get(self, address: str) -> Resource | None:
        return self.resources.get(address)


def _planned(module: dict[str, Any], into: dict[str, dict[str, Any]]) -> None:
    for resource in module.get("resources", []):
        into[resource["address"]] = resource
    for child in module.get("child_modules", []):
        _planned(child, into)


def _configured(
    module: dict[str, Any], prefix: str, into: dict[str, tuple[dict[str, Any], str]]
) -> None:
    for resource in module.get("resources", []):
        into[f"{prefix}{resource['address']}"] = (resource, prefix)
    for name, call in module.get("module_calls", {}).items():
        _configured(call.get("module", {}), f"{prefix}module.{name}.", into)


def parse_plan(document: Any, environment: str) -> Plan:
    """Build the view; raises GateInputError when the document is not a usable plan."""
    if not isinstance(document, dict) or "format_version" not in document:
        raise GateInputError(f"{environment}: not the JSON of `terraform show -json <plan>`")
    version = str(document["format_version"])
    if version.split(".")[0] != SUPPORTED_FORMAT_MAJOR:
        raise GateInputError(
            f"{environment}: plan format_version {version!r} is not supported; "
            f"expected {SUPPORTED_FORMAT_MAJOR}.x"
        )
    if document.get("errored"):
        raise GateInputError(f"{environment}: the plan errored; fix `terraform plan` first")
    planned: dict[str, dict[str, Any]] = {}
    _planned(document.get("prior_state", {}).get("values", {}).get("root_module", {}), planned)
    _planned(document.get("planned_values", {}).get("root_module", {}), planned)
    configured: dict[str, tuple[dict[str, Any], str]] = {}
    _configured(document.get("configuration", {}).get("root_module", {}), "", configured)

    resources: dict[str, Resource] = {}
    for address in sorted(set(planned) | set(configured)):
        values = planned.get(address, {})
        config, prefix = configured.get(address, ({}, ""))
        # Addresses of resources with count or for_each carry an index the configuration lacks.
        if not config and "[" in address:
            config, prefix = configured.get(address.split("[", 1)[0], ({}, ""))
        source = values or config
        resources[address] = Resource(
            address=address,
            type=str(source.get("type", "")),
            mode=str(source.get("mode", "managed")),
            values=values.get("values") or {},
            expressions=config.get("expressions") or {},
            module_prefix=prefix,
        )
    return Plan(environment=environment, resources=resources)


def load_plan(path: Path, environment: str) -> Plan:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise GateInputError(
            f"{environment}: no plan JSON at {path}; run `make plan ENV={environment}` first"
        ) from error
    except json.JSONDecodeError as error:
        raise GateInputError(f"{environment}: {path} is not JSON: {error}") from error
    return parse_plan(document, environment)
