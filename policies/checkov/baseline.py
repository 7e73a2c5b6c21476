"""The reviewed exceptions to the policy gate, and how they apply to a run's findings.

Each entry of ``baseline.toml`` names one check, the exact resource addresses it excuses, the
environments (all by default) and the reason. The gate fails on a failure no entry excuses,
and on an entry that excuses nothing: a resource that no longer fails in one of its listed
environments makes the entry stale, so the baseline can only shrink silently, never grow.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.checkov.findings import Finding, GateInputError

BASELINE_PATH = Path(__file__).resolve().parent / "baseline.toml"
ENTRY_KEYS = frozenset({"check", "resources", "environments", "reason"})
MIN_REASON_CHARS = 20
_CHECK_ID = re.compile(r"^CKV2?_[A-Z]+_\d+$")
_ADDRESS = re.compile(r"^(module\.[^.]+\.)*(data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+(\[[^\]]+\])?$")


@dataclass(frozen=True)
class BaselineEntry:
    check_id: str
    resources: tuple[str, ...]
    environments: tuple[str, ...]
    reason: str


@dataclass(frozen=True, order=True)
class StaleEntry:
    """A resource of an entry that does not fail that check in an environment it lists."""

    check_id: str
    resource: str
    environment: str


@dataclass(frozen=True)
class EnvironmentOutcome:
    environment: str
    findings: tuple[Finding, ...]
    new_failures: tuple[Finding, ...]
    baselined: tuple[Finding, ...]


@dataclass(frozen=True)
class GateOutcome:
    environments: tuple[EnvironmentOutcome, ...]
    stale: tuple[StaleEntry, ...]

    @property
    def passed(self) -> bool:
        return not self.stale and not any(outcome.new_failures for outcome in self.environments)


def _entry(index: int, raw: Any, environments: Sequence[str]) -> BaselineEntry:
    where = f"baseline entry {index + 1}"
    if not isinstance(raw, dict):
        raise GateInputError(f"{where}: must be a table, got {raw!r}")
    unknown = sorted(set(raw) - ENTRY_KEYS)
    if unknown:
        raise GateInputError(f"{where}: unknown keys {unknown}; allowed: {sorted(ENTRY_KEYS)}")
    check_id = raw.get("check")
    if not isinstance(check_id, str) or not _CHECK_ID.match(check_id):
        raise GateInputError(f"{where}: check {check_id!r} is not a check id like CKV_AWS_338")
    resources = raw.get("resources")
    if not isinstance(resources, list) or not resources:
        raise GateInputError(f"{where} ({check_id}): resources must list at least one address")
    for resource in resources:
        if not isinstance(resource, str) or not _ADDRESS.match(resource):
            raise GateInputError(
                f"{where} ({check_id}): resource {resource!r} is not a Terraform address "
                "such as aws_s3_bucket.LogBucket_Bucket_0A1B2C3D (no wildcards)"
            )
    if len(set(resources)) != len(resources):
        raise GateInputError(f"{where} ({check_id}): resources lists an address twice")
    scoped = raw.get("environments", list(environments))
    if not isinstance(scoped, list) or not scoped or not set(scoped) <= set(environments):
        raise GateInputError(
            f"{where} ({check_id}): environments {scoped!r} must be a non-empty list of "
            f"{list(environments)}"
        )
    reason = raw.get("reason")
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_CHARS:
        raise GateInputError(
            f"{where} ({check_id}): reason {reason!r} must say why, in at least "
            f"{MIN_REASON_CHARS} characters"
        )
    return BaselineEntry(check_id, tuple(resources), tuple(scoped), " ".join(reason.split()))


def parse_baseline(text: str, environments: Sequence[str]) -> list[BaselineEntry]:
    """Validate the baseline; raises GateInputError naming the entry, field and value."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GateInputError(f"baseline is not valid TOML: {error}") from error
    unknown = sorted(set(document) - {"exception"})
    if unknown:
        raise GateInputError(f"baseline: unknown top-level keys {unknown}; allowed: ['exception']")
    entries = [_entry(i, raw, environments) for i, raw in enumerate(document.get("exception", []))]
    seen: dict[tuple[str, str, str], int] = {}
    for index, entry in enumerate(entries):
        for resource in entry.resources:
            for environment in entry.environments:
                key = (entry.check_id, resource, environment)
                if key in seen:
                    raise GateInputError(
                        f"baseline entries {seen[key] + 1} and {index + 1} both excuse "
                        f"{entry.check_id} on {resource} in {environment}"
                    )
                seen[key] = index
    return entries


def load_baseline(path: Path, environments: Sequence[str]) -> list[BaselineEntry]:
    try:
        text = path.read_text()
    except FileNotFoundError as error:
        raise GateInputError(f"baseline file {path} is missing") from error
    return parse_baseline(text, environments)


def apply_baseline(
    entries: Sequence[BaselineEntry], findings: Mapping[str, Sequence[Finding]]
) -> GateOutcome:
    """Split each environment's failures into baselined and new; list stale entries.

    ``findings`` maps every environment that was checked to its findings; entries are judged
    only in the environments of this run.
    """
    excused = {
        (entry.check_id, resource, environment)
        for entry in entries
        for resource in entry.resources
        for environment in entry.environments
    }
    failing = {
        (finding.check_id, finding.resource, environment)
        for environment, results in findings.items()
        for finding in results
        if not finding.passed
    }
    outcomes = []
    for environment, results in findings.items():
        failures = [finding for finding in results if not finding.passed]
        outcomes.append(
            EnvironmentOutcome(
                environment=environment,
                findings=tuple(results),
                new_failures=tuple(
                    f for f in failures if (f.check_id, f.resource, environment) not in excused
                ),
                baselined=tuple(
                    f for f in failures if (f.check_id, f.resource, environment) in excused
                ),
            )
        )
    stale = sorted(StaleEntry(*key) for key in excused if key[2] in findings and key not in failing)
    return GateOutcome(environments=tuple(outcomes), stale=tuple(stale))


def suggest_entries(outcome: GateOutcome) -> str:
    """TOML for the run's new failures, one entry per check and set of environments.

    The reason is left empty and the gate refuses an empty reason, so a suggestion cannot be
    committed without someone writing why the exception is acceptable.
    """
    order = [environment.environment for environment in outcome.environments]
    environments_of: dict[tuple[str, str], set[str]] = {}
    titles: dict[str, str] = {}
    for environment in outcome.environments:
        for failure in environment.new_failures:
            key = (failure.check_id, failure.resource)
            environments_of.setdefault(key, set()).add(environment.environment)
            titles[failure.check_id] = failure.title
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (check_id, resource), environments in environments_of.items():
        scope = tuple(sorted(environments, key=order.index))
        groups.setdefault((check_id, scope), []).append(resource)
    blocks = []
    for (check_id, scope), resources in sorted(groups.items()):
        quoted = ", ".join(f'"{name}"' for name in scope)
        listed = "".join(f'  "{address}",\n' for address in sorted(resources))
        blocks.append(
            f'# {titles[check_id]}\n[[exception]]\ncheck = "{check_id}"\n'
            f'environments = [{quoted}]\nresources = [\n{listed}]\nreason = ""\n'
        )
    return "\n".join(blocks)
