"""WAFv2 web ACL rules as data: AWS managed rule groups first, then a per-IP rate limit.

The shapes follow the `rule` block of `aws_wafv2_web_acl` (snake_case), so the rules are
visible to `terraform plan` and to checkov, which does not read `rule_json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (rule group, priority). Order matters: cheap reputation lists before request inspection.
MANAGED_RULE_GROUPS: tuple[tuple[str, int], ...] = (
    ("AWSManagedRulesAmazonIpReputationList", 10),
    ("AWSManagedRulesAnonymousIpList", 15),
    ("AWSManagedRulesCommonRuleSet", 20),
    ("AWSManagedRulesKnownBadInputsRuleSet", 30),
    ("AWSManagedRulesSQLiRuleSet", 40),
)
# Rules of a managed group that only count (label) instead of blocking. Tenants' own
# servers in cloud data centres call the platform; blocking every hosting provider would
# cut them off, while VPN and Tor exits (AnonymousIPList) stay blocked.
COUNT_ONLY: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}
RATE_RULE = "PerIpRateLimit"
RATE_RULE_PRIORITY = 100


@dataclass(frozen=True)
class WafRule:
    """One rule: `statement` is the block's body; exactly one of action/override applies."""

    name: str
    priority: int
    statement: dict[str, Any]
    block: bool = False

    @property
    def metric_name(self) -> str:
        return self.name


def web_acl_rules(rate_limit_per_5_minutes: int) -> list[WafRule]:
    """The rules of the platform's web ACL: managed groups act as AWS ships them (no
    override, except the count-only rules above); the rate rule blocks."""
    rules = [
        WafRule(group, priority, {"managed_rule_group_statement": [_managed(group)]})
        for group, priority in MANAGED_RULE_GROUPS
    ]
    rules.append(
        WafRule(
            RATE_RULE,
            RATE_RULE_PRIORITY,
            {
                "rate_based_statement": [
                    {"limit": rate_limit_per_5_minutes, "aggregate_key_type": "IP"}
                ]
            },
            block=True,
        )
    )
    return rules


def _managed(group: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
    overrides = COUNT_ONLY.get(group, ())
    if overrides:
        statement["rule_action_override"] = [
            {"name": rule, "action_to_use": [{"count": [{}]}]} for rule in overrides
        ]
    return statement
