"""What the emulator target leaves out of a synthesized stack, and why.

`moto_server` 5.2.5 creates nearly everything the stacks hold; the resource types below it
cannot create, or cannot read back, with AWS provider 5.100.0. `leave_out()` removes them from
a synthesized `cdk.tf.json` before `terraform apply` into the emulator, with everything that
needs them, and reports each resource it removed. A resource that only reads an attribute of
a removed one whose value is known without the emulator (a name from its own arguments) keeps
that value; an attribute the emulator would have made up gets a stand-in that says so
(`left-out-...`), and the report lists the resources that hold one.

tests/unit/test_emulator_exclusions.py pins this list: it may shrink, never grow silently.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Config = dict[str, Any]


@dataclass(frozen=True)
class Exclusion:
    """`error`: what the emulator answered, quoted. `stand_ins`: attribute path -> value
    template over the left-out resource's own arguments (`{identifier}`)."""

    error: str
    stand_ins: Mapping[str, str] = field(default_factory=dict)


EXCLUSIONS: Mapping[str, Exclusion] = {
    "aws_db_instance": Exclusion(
        error=(
            "created, then `Error: reading RDS DB Instance (platform-dev-core-db): couldn't "
            'find resource`: moto gives every instance the same DbiResourceId ("db-M5ENSHXFPU6'
            'XHZ4G4ZEI5QIO2U"), the id the provider reads it back by, so with six instances '
            "the read finds six"
        ),
        stand_ins={
            "identifier": "{identifier}",
            "address": "left-out-{identifier}.invalid",
            "master_user_secret[0].secret_arn": (
                "arn:aws:secretsmanager:{region}:000000000000:secret:left-out-{identifier}"
            ),
        },
    ),
    "aws_cloudwatch_event_target": Exclusion(
        error=(
            "created, then every PutEvents on the default bus fails with HTTP 500 "
            "`NotImplementedError: Expr not defined for <class 'moto.events.models.Rule'>`: "
            "moto hands each event to every rule of the bus, schedule rules included, and "
            "cannot deliver to a Lambda target"
        ),
    ),
    "aws_elasticache_user_group": Exclusion(
        error=(
            "HTTP 500 `NotImplementedError: The create_user_group action has not been "
            "implemented`; the provider retries it until its create timeout"
        ),
    ),
    "aws_elasticache_replication_group": Exclusion(
        error=(
            "created, then `Error: reading ElastiCache Replication Group (platform-dev-redis): "
            "reading Cache Cluster (platform-dev-redis-001): ... CacheClusterNotFound: Cache "
            "cluster platform-dev-redis-001 not found`: moto makes no member clusters"
        ),
    ),
    "aws_s3_bucket_policy": Exclusion(
        error=(
            "created, then every object call is refused, e.g. `An error occurred (403) when "
            "calling the PutObject operation: Forbidden`: moto enforces bucket policies "
            'without their conditions ("Conditions are not taken into account"), so the '
            "TLS-only Deny (aws:SecureTransport false) denies every request"
        ),
    ),
    "aws_s3_bucket_logging": Exclusion(
        error=(
            "`InvalidTargetBucketForLogging: You must either provide the necessary permissions "
            "to the logging service using a bucket policy or give the log-delivery group WRITE "
            "and READ_ACP permissions to the target bucket`: moto accepts a logging.s3 grant "
            "only on `<bucket>/*` or `<bucket>/<target prefix>*`, not on the log bucket's "
            "`s3/*`, which AWS accepts"
        ),
    ),
}

# Attributes that moto reads back differently from what it was given, so that every plan
# would update them again: the emulator target ignores their changes (lifecycle
# ignore_changes). type -> (attributes, what moto answers).
IGNORED_DRIFT: Mapping[str, tuple[tuple[str, ...], str]] = {
    "aws_autoscaling_policy": (
        ("enabled", "predictive_scaling_configuration"),
        "DescribePolicies answers Enabled=false and an empty predictive scaling block",
    ),
    "aws_db_parameter_group": (
        ("parameter",),
        "DescribeDBParameters answers none of the parameters that were set",
    ),
    "aws_launch_template": (
        ("tag_specifications",),
        "after a create, DescribeLaunchTemplateVersions adds a launch-template tag "
        "specification with the provider's default tags",
    ),
    "aws_lambda_function": (
        ("dead_letter_config",),
        "GetFunction answers no DeadLetterConfig",
    ),
    "aws_vpc_security_group_ingress_rule": (
        ("description", "referenced_security_group_id"),
        'the referenced group comes back as "123456789012/sg-..." instead of "sg-...", and '
        "after a create without the description",
    ),
}


# `aws_x.Name.attr[0].sub` or `data.aws_x.Name...` inside a Terraform expression.
_REFERENCE = re.compile(
    r"(?<![\w.])((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z_][A-Za-z0-9_-]*)"
    r"((?:\.[a-z_][a-z0-9_]*|\[\d+\])*)"
)


@dataclass(frozen=True)
class LeftOut:
    address: str
    reason: str


@dataclass
class FilterReport:
    left_out: list[LeftOut] = field(default_factory=list)
    # address of a kept resource -> the references it holds a stand-in for
    stand_ins: dict[str, list[str]] = field(default_factory=dict)
    removed_outputs: list[str] = field(default_factory=list)
    # resource type -> how many of its resources ignore the emulator's drift
    ignored_drift: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """What a person reads: every resource left out and why, grouped by the reason;
        then the outputs removed, the resources holding stand-ins, the ignored drift."""
        by_reason: dict[str, list[str]] = {}
        for item in self.left_out:
            by_reason.setdefault(item.reason, []).append(item.address)
        lines = []
        for reason, addresses in by_reason.items():
            lines.append(f"left out {', '.join(addresses)}")
            lines.append(f"    {reason}")
        lines += [f"left out output {name}" for name in self.removed_outputs]
        if self.stand_ins:
            kinds = Counter(address.rpartition(".")[0] for address in self.stand_ins)
            held = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
            lines.append(f"stand-ins for left-out attributes in {held}")
        for kind, count in sorted(self.ignored_drift.items()):
            lines.append(
                f"ignoring the emulator's drift of {count} {kind}: {IGNORED_DRIFT[kind][1]}"
            )
        return lines


def leave_out(
    config: Config, exclusions: Mapping[str, Exclusion] = EXCLUSIONS
) -> tuple[Config, FilterReport]:
    """A copy of a synthesized stack without the excluded types and what needs them."""
    result = copy.deepcopy(config)
    report = FilterReport()
    removed: dict[str, dict[str, Any]] = {}
    blocks = {
        f"{prefix}{kind}.{name}": (section, kind, name)
        for section, prefix in (("resource", ""), ("data", "data."))
        for kind, named in result.get(section, {}).items()
        for name in named
    }

    for address, (section, kind, name) in sorted(blocks.items()):
        if section == "resource" and kind in exclusions:
            removed[address] = result[section][kind].pop(name)
            report.left_out.append(LeftOut(address, exclusions[kind].error))

    region = _provider_region(result)
    changed = True
    while changed:
        changed = False
        for address, (section, kind, name) in sorted(blocks.items()):
            if address in removed:
                continue
            body = result[section][kind][name]
            missing = _unresolvable(body, removed, exclusions)
            if missing:
                removed[address] = result[section][kind].pop(name)
                report.left_out.append(LeftOut(address, f"needs {missing}"))
                changed = True
                continue
            result[section][kind][name], used = _substitute(body, removed, exclusions, region)
            if used:
                report.stand_ins.setdefault(address, []).extend(used)

    for name in sorted(result.get("output", {})):
        if _unresolvable(result["output"][name], removed, exclusions):
            del result["output"][name]
            report.removed_outputs.append(name)
    for address in removed:
        report.stand_ins.pop(address, None)
    for kind, (attributes, _) in IGNORED_DRIFT.items():
        drifting = result.get("resource", {}).get(kind, {})
        if drifting:
            report.ignored_drift[kind] = len(drifting)
        for body in drifting.values():
            lifecycle = body.setdefault("lifecycle", {})
            lifecycle["ignore_changes"] = sorted(
                {*lifecycle.get("ignore_changes", []), *attributes}
            )
    for section in ("resource", "data"):
        if section in result:
            result[section] = {kind: named for kind, named in result[section].items() if named}
    return result, report


def _provider_region(config: Config) -> str:
    providers = config.get("provider", {}).get("aws", [{}])
    return str(providers[0].get("region", ""))


def _references(value: Any) -> list[tuple[str, str]]:
    """(address, attribute path) of every resource reference in `value`; the logical ids
    are unique, so the text of a reference appears only in expressions and depends_on."""
    return [(m[1], m[2].lstrip(".")) for m in _REFERENCE.finditer(json.dumps(value))]


def _unresolvable(
    body: Any, removed: Mapping[str, Any], exclusions: Mapping[str, Exclusion]
) -> str | None:
    """The first reference to a removed resource that no stand-in answers, if any."""
    kept = {key: value for key, value in body.items() if key != "depends_on"}
    for address, attribute in _references(kept):
        if address not in removed:
            continue
        exclusion = None if address.startswith("data.") else exclusions.get(_kind(address))
        if exclusion is None or attribute not in exclusion.stand_ins:
            return f"{address}.{attribute}" if attribute else address
    return None


def _substitute(
    body: dict[str, Any],
    removed: Mapping[str, dict[str, Any]],
    exclusions: Mapping[str, Exclusion],
    region: str,
) -> tuple[dict[str, Any], list[str]]:
    """`body` with removed resources out of depends_on and stand-ins for their attributes."""
    used: list[str] = []
    if "depends_on" in body:
        depends_on = [entry for entry in body["depends_on"] if entry not in removed]
        body = {key: value for key, value in body.items() if key != "depends_on"}
        if depends_on:
            body["depends_on"] = depends_on
    text = json.dumps(body)
    for address, attribute in sorted(set(_references(body)), reverse=True):
        if address not in removed:
            continue
        arguments = {k: v for k, v in removed[address].items() if isinstance(v, str)}
        template = exclusions[_kind(address)].stand_ins[attribute]
        value = template.format(region=region, **arguments)
        reference = re.escape(f"{address}.{attribute}") + r"(?![\w.\[])"
        # "${ref}" becomes the bare value, a reference inside a larger expression an HCL
        # string literal; both JSON-escaped, being inside the JSON document.
        text = re.sub(r"\$\{" + reference + r"\}", _escaped(value), text)
        text = re.sub(reference, _escaped(json.dumps(value)), text)
        used.append(f"{address}.{attribute}")
    return json.loads(text), used


def _escaped(value: str) -> str:
    """`value` as it appears inside a JSON string, escaped for re.sub's replacement."""
    return json.dumps(value)[1:-1].replace("\\", "\\\\")


def _kind(address: str) -> str:
    return address.partition(".")[0]
