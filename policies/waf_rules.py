"""WAFv2 web ACL rules as data: AWS managed rule groups first, then a per-IP rate limit."""

from __future__ import annotations

from typing import Any

# (rule group, priority). Order matters: cheap reputation lists before request inspection.
MANAGED_RULE_GROUPS: tuple[tuple[str, int], ...] = (
    ("AWSManagedRulesAmazonIpReputationList", 10),
    ("AWSManagedRulesCommonRuleSet", 20),
    ("AWSManagedRulesKnownBadInputsRuleSet", 30),
    ("AWSManagedRulesSQLiRuleSet", 40),
)
RATE_RULE_PRIORITY = 100


def _visibility(metric_name: str) -> dict[str, Any]:
    return {
        "CloudWatchMetricsEnabled": True,
        "SampledRequestsEnabled": True,
        "MetricName": metric_name,
    }


def web_acl_rules(rate_limit_per_5_minutes: int) -> list[dict[str, Any]]:
    """The rules of the platform's web ACL, in the JSON form of the WAFv2 API."""
    rules: list[dict[str, Any]] = [
        {
            "Name": group,
            "Priority": priority,
            "OverrideAction": {"None": {}},
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
            "VisibilityConfig": _visibility(group),
        }
        for group, priority in MANAGED_RULE_GROUPS
    ]
    rules.append(
        {
            "Name": "PerIpRateLimit",
            "Priority": RATE_RULE_PRIORITY,
            "Action": {"Block": {}},
            "Statement": {
                "RateBasedStatement": {
                    "Limit": rate_limit_per_5_minutes,
                    "AggregateKeyType": "IP",
                }
            },
            "VisibilityConfig": _visibility("PerIpRateLimit"),
        }
    )
    return rules
