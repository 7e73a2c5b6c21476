"""Assertions on the synthesized Terraform JSON of every environment."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

from environments import APP_NAMES, ENVIRONMENT_NAMES, load_environment
from modules.naming import ALB_NAME_MAX, TARGET_GROUP_NAME_MAX
from tests.infra.conftest import Stack, only, resources

NAME_RE = re.compile(r"^[A-Za-z0-9-]+$")
EXPECTED_PRIORITIES = {"crm": 10, "hr": 20, "accounting": 30, "inventory": 40, "affiliate": 50}


def app_resource(stack: Stack, kind: str, app: str) -> dict[str, Any]:
    matches = [
        r for key, r in resources(stack, kind).items() if key.startswith(f"App{app.title()}_")
    ]
    assert len(matches) == 1, f"{kind} of {app}: {len(matches)} found"
    return matches[0]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_stack_has_five_target_groups_one_per_app(stacks: dict[str, Stack], env: str) -> None:
    groups = resources(stacks[env], "aws_lb_target_group")
    assert len(groups) == 5
    assert sorted(g["name"] for g in groups.values()) == sorted(
        f"platform-{env}-{app}" for app in APP_NAMES
    )


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_listener_rules_priorities_unique_and_fixed(stacks: dict[str, Stack], env: str) -> None:
    priorities = {
        app: app_resource(stacks[env], "aws_lb_listener_rule", app)["priority"] for app in APP_NAMES
    }
    assert priorities == EXPECTED_PRIORITIES
    assert len(set(priorities.values())) == len(APP_NAMES)


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
@pytest.mark.parametrize("app", APP_NAMES)
def test_listener_rule_matches_both_paths_and_forwards_to_own_group(
    stacks: dict[str, Stack], env: str, app: str
) -> None:
    rule = app_resource(stacks[env], "aws_lb_listener_rule", app)
    [condition] = rule["condition"]
    assert condition["path_pattern"]["values"] == [f"/{app}", f"/{app}/*"]
    forward = [a for a in rule["action"] if a["type"] == "forward"]
    assert len(forward) == 1
    assert f"App{app.title()}_TargetGroup" in forward[0]["target_group_arn"]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
@pytest.mark.parametrize("app", APP_NAMES)
def test_target_group_health_check_is_the_app_health_path(
    stacks: dict[str, Stack], env: str, app: str
) -> None:
    check = app_resource(stacks[env], "aws_lb_target_group", app)["health_check"]
    assert check["enabled"] is True
    assert check["path"] == f"/{app}/health"
    assert check["matcher"] == "200"


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_alb_and_target_group_names_fit_aws_limits(stacks: dict[str, Stack], env: str) -> None:
    names = [only(stacks[env], "aws_lb")["name"]]
    assert len(names[0]) <= ALB_NAME_MAX
    for group in resources(stacks[env], "aws_lb_target_group").values():
        assert len(group["name"]) <= TARGET_GROUP_NAME_MAX
        names.append(group["name"])
    for name in names:
        assert NAME_RE.match(name) and not name.startswith("-") and not name.endswith("-"), name


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_every_launch_template_requires_imdsv2_and_encrypts_volumes(
    stacks: dict[str, Stack], env: str
) -> None:
    templates = resources(stacks[env], "aws_launch_template")
    assert len(templates) == 5
    for template in templates.values():
        assert template["metadata_options"]["http_tokens"] == "required"
        assert template["metadata_options"]["http_put_response_hop_limit"] == 1
        assert template["image_id"].startswith("resolve:ssm:/aws/service/ami-amazon-linux")
        for mapping in template["block_device_mappings"]:
            assert mapping["ebs"]["encrypted"] == "true"
            assert "kms_key_id" in mapping["ebs"]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_auto_scaling_groups_follow_config(stacks: dict[str, Stack], env: str) -> None:
    config = load_environment(env)
    for app in APP_NAMES:
        group = app_resource(stacks[env], "aws_autoscaling_group", app)
        sizing = config.apps[app]
        assert (group["min_size"], group["max_size"], group["desired_capacity"]) == (
            sizing.min_size,
            sizing.max_size,
            sizing.desired_capacity,
        )
        assert group["health_check_type"] == "ELB"
        assert group["health_check_grace_period"] == sizing.health_check_grace_period_seconds
        assert group["instance_refresh"]["strategy"] == "Rolling"
        policy = app_resource(stacks[env], "aws_autoscaling_policy", app)
        assert policy["policy_type"] == "TargetTrackingScaling"


@pytest.mark.parametrize(
    ("env", "multi_az", "protected", "final_snapshot"),
    [("dev", False, False, False), ("staging", False, False, True), ("prod", True, True, True)],
)
def test_databases_follow_environment_policy(
    stacks: dict[str, Stack], env: str, multi_az: bool, protected: bool, final_snapshot: bool
) -> None:
    databases = resources(stacks[env], "aws_db_instance")
    assert len(databases) == len(APP_NAMES) + 1  # the apps' and the platform core's
    for db in databases.values():
        assert db["engine"] == "postgres" and db["engine_version"].startswith("16")
        assert db["multi_az"] is multi_az
        assert db["deletion_protection"] is protected
        assert db["skip_final_snapshot"] is (not final_snapshot)
        if final_snapshot:
            assert db["final_snapshot_identifier"].endswith("-final")
        else:
            assert "final_snapshot_identifier" not in db
        assert db["storage_encrypted"] is True and "kms_key_id" in db
        assert db["manage_master_user_password"] is True and "password" not in db
        assert db["publicly_accessible"] is False
        assert db["performance_insights_enabled"] is True
        assert set(db["enabled_cloudwatch_logs_exports"]) == {"postgresql", "upgrade"}


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_database_parameter_groups_force_ssl(stacks: dict[str, Stack], env: str) -> None:
    for group in resources(stacks[env], "aws_db_parameter_group").values():
        params = {p["name"]: p["value"] for p in group["parameter"]}
        assert params["rds.force_ssl"] == "1"
        assert group["family"] == "postgres16"


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_database_ingress_only_from_app_and_lambda_groups(
    stacks: dict[str, Stack], env: str
) -> None:
    stack = stacks[env]
    for app in APP_NAMES:
        rules = [
            r
            for key, r in resources(stack, "aws_vpc_security_group_ingress_rule").items()
            if key.startswith(f"App{app.title()}_Database_")
        ]
        assert len(rules) == 2
        referenced = sorted(r["referenced_security_group_id"] for r in rules)
        assert f"App{app.title()}_SecurityGroup" in referenced[0]
        assert "LambdaSecurityGroup" in referenced[1]
        assert all("cidr_ipv4" not in r and r["from_port"] == 5432 for r in rules)


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_instances_accept_traffic_only_from_the_alb(stacks: dict[str, Stack], env: str) -> None:
    for app in APP_NAMES:
        rules = [
            r
            for key, r in resources(stacks[env], "aws_vpc_security_group_ingress_rule").items()
            if key.startswith(f"App{app.title()}_FromAlb")
        ]
        assert len(rules) == 1
        assert "Edge_AlbSecurityGroup" in rules[0]["referenced_security_group_id"]


@pytest.mark.parametrize(
    ("env", "zones", "nats", "deletion_protection"),
    [("dev", 2, 1, False), ("staging", 3, 1, True), ("prod", 3, 3, True)],
)
def test_network_and_edge_follow_environment(
    stacks: dict[str, Stack], env: str, zones: int, nats: int, deletion_protection: bool
) -> None:
    stack = stacks[env]
    assert len(resources(stack, "aws_subnet")) == 3 * zones
    assert len(resources(stack, "aws_nat_gateway")) == nats
    assert all(
        s["map_public_ip_on_launch"] is False for s in resources(stack, "aws_subnet").values()
    )
    assert only(stack, "aws_flow_log")["traffic_type"] == "ALL"
    assert only(stack, "aws_vpc_endpoint")["vpc_endpoint_type"] == "Gateway"
    alb = only(stack, "aws_lb")
    assert alb["enable_deletion_protection"] is deletion_protection
    assert alb["drop_invalid_header_fields"] is True
    assert alb["access_logs"]["enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_listeners_redirect_http_and_serve_modern_tls_with_404(
    stacks: dict[str, Stack], env: str
) -> None:
    listeners = {rule["port"]: rule for rule in resources(stacks[env], "aws_lb_listener").values()}
    assert set(listeners) == {80, 443}
    [redirect] = listeners[80]["default_action"]
    assert redirect["type"] == "redirect" and redirect["redirect"]["protocol"] == "HTTPS"
    https = listeners[443]
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    [default] = https["default_action"]
    assert default["type"] == "fixed-response"
    assert default["fixed_response"]["status_code"] == "404"


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_certificate_and_aliases_cover_apex_and_wildcard(
    stacks: dict[str, Stack], env: str
) -> None:
    domain = load_environment(env).domain_name
    cert = only(stacks[env], "aws_acm_certificate")
    assert cert["domain_name"] == domain
    assert cert["subject_alternative_names"] == [f"*.{domain}"]
    assert cert["validation_method"] == "DNS"
    aliases = [r for r in resources(stacks[env], "aws_route53_record").values() if "alias" in r]
    assert sorted(r["name"] for r in aliases) == sorted([domain, f"*.{domain}"])


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_waf_has_managed_groups_rate_rule_association_and_logging(
    stacks: dict[str, Stack], env: str
) -> None:
    stack = stacks[env]
    acl = only(stack, "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL"
    rules = {rule["name"]: rule for rule in acl["rule"]}
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        statement = rules[group]["statement"]["managed_rule_group_statement"][0]
        assert statement == {"name": group, "vendor_name": "AWS"}
        assert rules[group]["override_action"] == {"none": {}}
    anonymous = rules["AWSManagedRulesAnonymousIpList"]["statement"]
    [override] = anonymous["managed_rule_group_statement"][0]["rule_action_override"]
    assert override["name"] == "HostingProviderIPList"
    rate = rules["PerIpRateLimit"]
    limit = load_environment(env).waf_rate_limit_per_5_minutes
    assert rate["statement"]["rate_based_statement"][0] == {
        "limit": limit,
        "aggregate_key_type": "IP",
    }
    assert rate["action"] == {"block": {}}
    assert len({rule["priority"] for rule in acl["rule"]}) == len(acl["rule"])
    associations = resources(stack, "aws_wafv2_web_acl_association").values()
    alb = [a for a in associations if "aws_lb.Edge_Alb" in a["resource_arn"]]
    assert len(alb) == 1 and "Edge_WebAcl" in alb[0]["web_acl_arn"]
    logging = only(stack, "aws_wafv2_web_acl_logging_configuration")
    assert "WafLogGroup" in logging["log_destination_configs"][0]
    groups = resources(stack, "aws_cloudwatch_log_group")
    assert any(g["name"].startswith("aws-waf-logs-") for g in groups.values())


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_encryption_everywhere(stacks: dict[str, Stack], env: str) -> None:
    stack = stacks[env]
    for group in resources(stack, "aws_cloudwatch_log_group").values():
        assert "kms_key_id" in group, group["name"]
    for topic in resources(stack, "aws_sns_topic").values():
        assert "kms_master_key_id" in topic
    encrypted = {
        e["bucket"]
        for e in resources(stack, "aws_s3_bucket_server_side_encryption_configuration").values()
    }
    buckets = resources(stack, "aws_s3_bucket")
    assert len(encrypted) == len(buckets)
    for key in resources(stack, "aws_kms_key").values():
        assert key["enable_key_rotation"] is True


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_each_function_alarms_on_errors_throttles_and_dead_letters(
    stacks: dict[str, Stack], env: str
) -> None:
    alarms = resources(stacks[env], "aws_cloudwatch_metric_alarm").values()
    actions = {a["alarm_name"]: a["alarm_actions"] for a in alarms}
    for function in ("rls-rollout", "tenant-onboarding", "usage-aggregation"):
        for suffix in ("errors", "throttles", "dead-letters"):
            name = f"platform-{env}-{function}-{suffix}"
            assert name in actions, name
            assert len(actions[name]) == 1 and "Alarms_Topic" in actions[name][0], actions[name]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_each_app_has_its_seven_alarms_and_a_dashboard(stacks: dict[str, Stack], env: str) -> None:
    alarms = resources(stacks[env], "aws_cloudwatch_metric_alarm")
    for app in APP_NAMES:
        names = sorted(
            a["alarm_name"].removeprefix(f"platform-{env}-{app}-")
            for a in alarms.values()
            if a["alarm_name"].startswith(f"platform-{env}-{app}-")
        )
        assert names == sorted(
            [
                "target-5xx",
                "unhealthy-hosts",
                "latency-p95",
                "cpu",
                "db-cpu",
                "db-free-storage",
                "db-connections",
            ]
        )
        board = app_resource(stacks[env], "aws_cloudwatch_dashboard", app)
        assert board["dashboard_name"] == f"platform-{env}-{app}"
    for alarm in alarms.values():
        assert "Alarms_Topic" in alarm["alarm_actions"][0]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_offline_provider_cannot_reach_aws(stacks: dict[str, Stack], env: str) -> None:
    [provider] = stacks[env]["provider"]["aws"]
    endpoints = provider["endpoints"][0]
    assert endpoints and set(endpoints.values()) == {"http://127.0.0.1:9"}
    assert provider["skip_credentials_validation"] is True
    backend = stacks[env]["terraform"]["backend"]
    assert list(backend) == ["local"]
    assert backend["local"]["path"].endswith(f"platform-{env}.tfstate")


def test_aws_target_uses_s3_backend_with_locking_and_derived_keys(tmp_path: object) -> None:
    from pathlib import Path

    from tests.infra.conftest import synth_into

    real = synth_into(Path(str(tmp_path)), target="aws")
    keys = set()
    for env in ENVIRONMENT_NAMES:
        s3 = real[env]["terraform"]["backend"]["s3"]
        assert s3["key"] == f"platform/{env}/terraform.tfstate"
        assert s3["encrypt"] is True and s3["use_lockfile"] is True
        keys.add(s3["key"])
        [provider] = real[env]["provider"]["aws"]
        assert "endpoints" not in provider
        assert provider["allowed_account_ids"] == [load_environment(env).account_id]
    assert len(keys) == len(ENVIRONMENT_NAMES)


def test_synthesized_json_contains_no_inline_secrets(stacks: dict[str, Stack]) -> None:
    text = json.dumps(stacks)
    assert re.search(r'"(password|master_password|auth_token|secret_string)":', text) is None
    assert "AKIA" not in text


def test_synth_imports_only_the_provider_modules_the_stacks_use(stacks: dict[str, Stack]) -> None:
    """modules/provider_bindings.py: the bindings' 2,135 resource modules are not all loaded."""
    loaded = [name for name in sys.modules if name.startswith("cdktf_cdktf_provider_aws.")]

    assert "cdktf_cdktf_provider_aws.lb" in loaded
    assert "cdktf_cdktf_provider_aws.xray_group" not in loaded
    assert len(loaded) < 400
