"""The platform's own checks, for what checkov does not know. Each has an id and a title.

- CKV_PLAT_1: in production every database instance holds tenant data, so deletion protection
  is on for each one (checkov's CKV_AWS_293 asks it of every environment; dev opts out).
- CKV_PLAT_2: identity policies grant no ``*`` action and ``*`` resources only for the actions
  AWS cannot scope (``policies.iam.ACTIONS_WITHOUT_RESOURCE_SCOPE``). Reads policies that are
  unknown at plan time from their configuration, which checkov's IAM checks cannot see.
- CKV_PLAT_3: every listener and listener rule that forwards sends traffic only to target
  groups of this plan whose health check is enabled (with a path for HTTP and HTTPS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from policies.checkov.findings import Finding
from policies.checkov.hcl_literal import HclLiteralError, parse_jsonencode
from policies.checkov.plan import Plan, Resource
from policies.iam import ACTIONS_WITHOUT_RESOURCE_SCOPE

PRODUCTION_ENVIRONMENTS = frozenset({"prod"})
DATABASE_TYPES = ("aws_db_instance", "aws_rds_cluster")
# Identity policies: the attribute that holds the document, per resource type.
POLICY_ATTRIBUTES = {
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
}
ATTACHMENT_TYPES = (
    "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
)
# AWS managed policies that grant every action of every service or of IAM itself.
ADMIN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
LISTENER_TYPES = ("aws_lb_listener", "aws_alb_listener")
RULE_TYPES = ("aws_lb_listener_rule", "aws_alb_listener_rule")
TARGET_GROUP_TYPES = ("aws_lb_target_group", "aws_alb_target_group")
_DOCUMENT_REFERENCE = re.compile(
    r"^\$\{(?P<address>data\.aws_iam_policy_document\.[^.}]+)\.json\}$"
)
_UNSCOPABLE = frozenset(action.lower() for action in ACTIONS_WITHOUT_RESOURCE_SCOPE)


@dataclass(frozen=True)
class Check:
    check_id: str
    title: str
    run: Callable[[Plan], list[Finding]]


def _finding(check: str, resource: str, problems: list[str]) -> Finding:
    return Finding(
        check_id=check,
        title=TITLES[check],
        resource=resource,
        passed=not problems,
        source="custom",
        detail="; ".join(problems),
    )


def database_deletion_protection(plan: Plan) -> list[Finding]:
    if plan.environment not in PRODUCTION_ENVIRONMENTS:
        return []
    findings = []
    for database in plan.of_type(*DATABASE_TYPES):
        if database.mode != "managed":
            continue
        value = database.values.get("deletion_protection")
        problems = [] if value is True else [f"deletion_protection is {value!r}, expected true"]
        findings.append(_finding("CKV_PLAT_1", database.address, problems))
    return findings


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _statements_of_document(document: Resource) -> list[dict[str, Any]]:
    """Statements of an ``aws_iam_policy_document`` from its configuration, as IAM JSON."""
    for unsupported in ("source_policy_documents", "override_policy_documents", "source_json"):
        if document.expression(unsupported) is not None:
            raise ValueError(f"{document.address} merges other documents ({unsupported})")
    statements = []
    for block in _as_list(document.expression("statement")):
        statement: dict[str, Any] = {}
        for argument, key in (
            ("effect", "Effect"),
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            expression = block.get(argument)
            if expression is None:
                continue
            if "constant_value" not in expression:
                raise ValueError(f"{document.address}: {argument} is not a literal")
            statement[key] = expression["constant_value"]
        statements.append(statement)
    return statements


def _policy_statements(plan: Plan, resource: Resource, attribute: str) -> list[dict[str, Any]]:
    """The statements of a policy attribute: planned value, else its configured expression."""
    known = resource.values.get(attribute)
    if isinstance(known, str) and known:
        return _as_list(json.loads(known).get("Statement"))
    expression = resource.expression(attribute, "constant_value")
    if not isinstance(expression, str):
        raise ValueError(f"{attribute} is unknown at plan time and not a literal expression")
    match = _DOCUMENT_REFERENCE.match(expression)
    if match:
        document = plan.get(resource.qualify(match.group("address")))
        if document is None:
            raise ValueError(f"{attribute} refers to {match.group('address')}, not in the plan")
        return _statements_of_document(document)
    try:
        parsed = parse_jsonencode(expression)
    except HclLiteralError as error:
        raise ValueError(f"{attribute} cannot be read at plan time: {error}") from error
    return _as_list(parsed.get("Statement") if isinstance(parsed, dict) else None)


def _statement_problems(statement: dict[str, Any]) -> Iterator[str]:
    if statement.get("Effect", "Allow") != "Allow":
        return
    label = statement.get("Sid") or "statement"
    if "NotAction" in statement:
        yield f"{label}: NotAction in an Allow statement grants every other action"
    if "NotResource" in statement:
        yield f"{label}: NotResource in an Allow statement grants every other resource"
    actions = [str(action) for action in _as_list(statement.get("Action"))]
    wildcards = [action for action in actions if action == "*" or action.endswith(":*")]
    if wildcards:
        yield f"{label}: grants wildcard actions {wildcards}"
    if "*" in _as_list(statement.get("Resource")):
        scopable = sorted(action for action in actions if action.lower() not in _UNSCOPABLE)
        if scopable:
            yield (
                f"{label}: Resource '*' for actions that AWS lets you scope to a resource "
                f"{scopable}; name the resources, or extend ACTIONS_WITHOUT_RESOURCE_SCOPE in "
                "policies/iam.py if AWS documents no resource-level permissions for them"
            )


def iam_least_privilege(plan: Plan) -> list[Finding]:
    findings = []
    for resource in plan.of_type(*POLICY_ATTRIBUTES):
        try:
            statements = _policy_statements(plan, resource, POLICY_ATTRIBUTES[resource.type])
        except (ValueError, AttributeError) as error:
            findings.append(_finding("CKV_PLAT_2", resource.address, [str(error)]))
            continue
        problems = [problem for s in statements for problem in _statement_problems(s)]
        findings.append(_finding("CKV_PLAT_2", resource.address, problems))
    for attachment in plan.of_type(*ATTACHMENT_TYPES):
        arn = str(attachment.values.get("policy_arn") or "")
        admin = [name for name in ADMIN_MANAGED_POLICIES if arn.endswith(f":policy/{name}")]
        problems = [f"attaches the AWS managed policy {admin[0]}"] if admin else []
        findings.append(_finding("CKV_PLAT_2", attachment.address, problems))
    return findings


def _forward_targets(action: dict[str, Any]) -> list[dict[str, Any]]:
    """The target group expressions one action forwards to (none for other action types)."""
    targets = []
    if action.get("target_group_arn"):
        targets.append(action["target_group_arn"])
    for forward in _as_list(action.get("forward")):
        targets.extend(group["arn"] for group in _as_list(forward.get("target_group")))
    return targets


def _target_group_problems(plan: Plan, owner: Resource, target: dict[str, Any]) -> list[str]:
    groups = [
        owner.qualify(reference)
        for reference in _as_list(target.get("references"))
        if reference.split(".")[0] in TARGET_GROUP_TYPES and reference.count(".") == 1
    ]
    if not groups:
        value = target.get("constant_value")
        return [f"forwards to {value!r}, a target group outside this plan"]
    problems = []
    for address in groups:
        group = plan.get(address)
        checks = _as_list(group.values.get("health_check")) if group else []
        if group is None:
            problems.append(f"forwards to {address}, which is not in the plan")
        elif not checks or checks[0].get("enabled") is not True:
            problems.append(f"{address} has no enabled health check")
        elif group.values.get("protocol") in {"HTTP", "HTTPS"} and not checks[0].get("path"):
            problems.append(f"{address} health check has no path")
    return problems


def listener_health_checked_targets(plan: Plan) -> list[Finding]:
    findings = []
    for resource in plan.of_type(*LISTENER_TYPES, *RULE_TYPES):
        block = "action" if resource.type in RULE_TYPES else "default_action"
        targets = [t for a in _as_list(resource.expression(block)) for t in _forward_targets(a)]
        if not targets:
            continue
        problems = [p for t in targets for p in _target_group_problems(plan, resource, t)]
        findings.append(_finding("CKV_PLAT_3", resource.address, problems))
    return findings


CHECKS: tuple[Check, ...] = (
    Check(
        "CKV_PLAT_1",
        "Tenant databases have deletion protection in production",
        database_deletion_protection,
    ),
    Check(
        "CKV_PLAT_2",
        "IAM policies grant no '*' action, and '*' resources only where AWS requires them",
        iam_least_privilege,
    ),
    Check(
        "CKV_PLAT_3",
        "Listeners forward only to target groups with an enabled health check",
        listener_health_checked_targets,
    ),
)
TITLES = {check.check_id: check.title for check in CHECKS}


def run_checks(plan: Plan) -> list[Finding]:
    return [finding for check in CHECKS for finding in check.run(plan)]
