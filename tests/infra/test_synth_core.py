"""Assertions on the shared services and the platform core in every environment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from environments import APP_NAMES, ENVIRONMENT_NAMES, load_environment
from policies.iam import ACTIONS_WITHOUT_RESOURCE_SCOPE
from tests.infra.conftest import Stack, only, resources

FUNCTIONS = ("RlsRollout", "TenantOnboarding", "UsageAggregation")


def by_prefix(stack: Stack, kind: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources(stack, kind).items() if k.startswith(prefix)}


def one(stack: Stack, kind: str, prefix: str) -> dict[str, Any]:
    found = list(by_prefix(stack, kind, prefix).values())
    assert len(found) == 1, f"{kind} {prefix}*: {len(found)} found"
    return found[0]


def policy_statements(stack: Stack, function: str) -> list[dict[str, Any]]:
    documents = stack["data"]["aws_iam_policy_document"]
    [doc] = [d for k, d in documents.items() if k.startswith(f"Core_{function}_Permissions")]
    statements: list[dict[str, Any]] = doc["statement"]
    return statements


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_document_bucket_is_private_versioned_kms_tls_only(
    stacks: dict[str, Stack], env: str
) -> None:
    stack = stacks[env]
    bucket = one(stack, "aws_s3_bucket", "DocumentBucket_")
    assert bucket["bucket"].startswith(f"platform-{env}-documents-")
    versioning = one(stack, "aws_s3_bucket_versioning", "DocumentBucket_")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    [rule] = one(stack, "aws_s3_bucket_server_side_encryption_configuration", "DocumentBucket_")[
        "rule"
    ]
    default = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms" and "Keys_Storage" in default["kms_master_key_id"]
    block = one(stack, "aws_s3_bucket_public_access_block", "DocumentBucket_")
    assert all(
        block[k] is True
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    policy = one(stack, "aws_s3_bucket_policy", "DocumentBucket_")["policy"]
    assert "aws:SecureTransport" in policy and "Deny" in policy
    lifecycle = one(stack, "aws_s3_bucket_lifecycle_configuration", "DocumentBucket_")
    assert {r["id"] for r in lifecycle["rule"]} == {
        "tenant-documents",
        "usage-reports",
        "abort-incomplete-uploads",
    }
    logging = one(stack, "aws_s3_bucket_logging", "DocumentBucket_")
    assert "aws_s3_bucket.LogBucket" in logging["target_bucket"]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
@pytest.mark.parametrize("app", APP_NAMES)
def test_app_instance_role_reaches_only_its_own_document_prefix(
    stacks: dict[str, Stack], env: str, app: str
) -> None:
    policy = one(stacks[env], "aws_iam_role_policy", f"App{app.title()}_InstancePolicy")["policy"]
    assert f"/tenants/*/{app}/*" in policy
    for other in set(APP_NAMES) - {app}:
        assert f"/{other}/" not in policy


@pytest.mark.parametrize(("env", "replicated"), [("dev", False), ("staging", True), ("prod", True)])
def test_redis_encrypted_iam_authenticated_and_multi_az_where_replicated(
    stacks: dict[str, Stack], env: str, replicated: bool
) -> None:
    stack = stacks[env]
    group = only(stack, "aws_elasticache_replication_group")
    assert group["transit_encryption_enabled"] is True
    assert group["at_rest_encryption_enabled"] == "true" and "kms_key_id" in group
    assert group["automatic_failover_enabled"] is replicated
    assert group["multi_az_enabled"] is replicated
    assert "auth_token" not in group and len(group["user_group_ids"]) == 1
    users = {u["user_name"]: u for u in resources(stack, "aws_elasticache_user").values()}
    assert users["default"]["access_string"].startswith("off")
    service = [u for name, u in users.items() if name != "default"]
    assert [u["authentication_mode"]["type"] for u in service] == ["iam"]
    ingress = by_prefix(stack, "aws_vpc_security_group_ingress_rule", "Cache_")
    assert len(ingress) == len(APP_NAMES) + 1
    assert all("cidr_ipv4" not in rule for rule in ingress.values())


@pytest.mark.parametrize(
    ("env", "mfa", "authenticated_rules"),
    [("dev", "OPTIONAL", False), ("staging", "OPTIONAL", True), ("prod", "ON", True)],
)
def test_cognito_pool_tenant_attribute_mfa_and_alb_authentication(
    stacks: dict[str, Stack], env: str, mfa: str, authenticated_rules: bool
) -> None:
    stack = stacks[env]
    pool = only(stack, "aws_cognito_user_pool")
    assert pool["mfa_configuration"] == mfa
    assert [s["name"] for s in pool["schema"]] == ["tenant_id"]
    assert pool["schema"][0]["mutable"] is False
    assert pool["password_policy"]["minimum_length"] >= 12
    assert pool["admin_create_user_config"]["allow_admin_create_user_only"] is True
    assert pool["username_configuration"] == {"case_sensitive": False}
    assert only(stack, "aws_cognito_user_pool_domain")["domain"].startswith(f"platform-{env}-auth")
    client = only(stack, "aws_cognito_user_pool_client")
    assert client["generate_secret"] is True and client["allowed_oauth_flows"] == ["code"]
    groups = {g["name"] for g in resources(stack, "aws_cognito_user_group").values()}
    assert groups == {"tenant-admins", "platform-admins"}
    for rule in resources(stack, "aws_lb_listener_rule").values():
        types = [action["type"] for action in rule["action"]]
        expected = ["authenticate-cognito", "forward"] if authenticated_rules else ["forward"]
        assert types == expected


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_lambda_function_is_a_hardened_deployable_unit(
    stacks: dict[str, Stack], env: str, function: str
) -> None:
    stack = stacks[env]
    fn = one(stack, "aws_lambda_function", f"Core_{function}_Function")
    assert fn["runtime"] == "python3.12" and fn["architectures"] == ["x86_64"]
    assert fn["handler"].startswith("lambdas.") and fn["handler"].endswith(".handler.handler")
    assert fn["tracing_config"]["mode"] == "Active"
    assert "SqsQueue" not in fn["dead_letter_config"]["target_arn"]
    assert "DeadLetterQueue" in fn["dead_letter_config"]["target_arn"]
    assert fn["reserved_concurrent_executions"] >= 1
    assert len(fn["vpc_config"]["subnet_ids"]) == len(load_environment(env).availability_zones)
    assert all("Network_App" in s for s in fn["vpc_config"]["subnet_ids"])
    assert fn["source_code_hash"] and fn["filename"].endswith(".zip")
    group = one(stack, "aws_cloudwatch_log_group", f"Core_{function}_LogGroup")
    assert group["retention_in_days"] == load_environment(env).log_retention_days
    assert "kms_key_id" in group
    assert "kms_master_key_id" in one(stack, "aws_sqs_queue", f"Core_{function}_DeadLetterQueue")


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_lambda_role_grants_no_wildcard_action_and_wildcard_resources_only_where_required(
    stacks: dict[str, Stack], env: str, function: str
) -> None:
    statements = policy_statements(stacks[env], function)
    assert statements
    for statement in statements:
        for action in statement["actions"]:
            assert action != "*" and not action.endswith(":*"), statement
        if "*" in statement["resources"]:
            assert set(statement["actions"]) <= ACTIONS_WITHOUT_RESOURCE_SCOPE, statement


ENVIRONMENT_CONTRACT = {
    "RlsRollout": [
        "CORE_DB_SECRET_ARN",
        "CRM_DB_SECRET_ARN",
        "AFFILIATE_DB_SECRET_ARN",
        "CORE_DB_HOST",
        "CORE_DB_APP_SECRET_ARN",
        "HR_DB_USAGE_SECRET_ARN",
    ],
    "TenantOnboarding": [
        "CORE_DB_APP_SECRET_ARN",
        "HR_DB_APP_SECRET_ARN",
        "USER_POOL_ID",
        "DOCUMENT_BUCKET",
        "EVENT_BUS_NAME",
    ],
    "UsageAggregation": [
        "CORE_DB_APP_SECRET_ARN",
        "INVENTORY_DB_USAGE_SECRET_ARN",
        "LOG_BUCKET",
        "DOCUMENT_BUCKET",
        "PLATFORM_DOMAIN",
    ],
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_lambda_environment_follows_the_connection_contract(
    stacks: dict[str, Stack], function: str
) -> None:
    variables = one(stacks["prod"], "aws_lambda_function", f"Core_{function}_Function")[
        "environment"
    ]["variables"]
    for name in ENVIRONMENT_CONTRACT[function]:
        assert variables.get(name), name
    assert variables["POWERTOOLS_SERVICE_NAME"]
    if function != "RlsRollout":
        # Runtime paths never receive the owner's (master) credentials.
        assert not [n for n in variables if n.endswith("_DB_SECRET_ARN")]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_control_plane_api_is_iam_authorized_logged_throttled_and_behind_waf(
    stacks: dict[str, Stack], env: str
) -> None:
    stack = stacks[env]
    methods = resources(stack, "aws_api_gateway_method").values()
    assert sorted(m["http_method"] for m in methods) == ["ANY", "ANY"]
    assert {m["authorization"] for m in methods} == {"AWS_IAM"}
    integrations = resources(stack, "aws_api_gateway_integration").values()
    assert {i["type"] for i in integrations} == {"AWS_PROXY"}
    assert all("TenantOnboarding" in i["uri"] for i in integrations)
    stage = only(stack, "aws_api_gateway_stage")
    assert stage["xray_tracing_enabled"] is True
    assert json.loads(stage["access_log_settings"]["format"])["requestId"]
    settings = only(stack, "aws_api_gateway_method_settings")["settings"]
    assert settings["throttling_rate_limit"] > 0 and settings["throttling_burst_limit"] > 0
    associations = [
        a["resource_arn"] for a in resources(stack, "aws_wafv2_web_acl_association").values()
    ]
    assert any("api_gateway_stage" in arn for arn in associations)


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_usage_aggregation_runs_daily_after_midnight_utc(
    stacks: dict[str, Stack], env: str
) -> None:
    stack = stacks[env]
    rule = only(stack, "aws_cloudwatch_event_rule")
    assert rule["schedule_expression"] == "cron(30 0 * * ? *)"
    target = only(stack, "aws_cloudwatch_event_target")
    assert "UsageAggregation" in target["arn"]
    permissions = [
        p
        for p in resources(stack, "aws_lambda_permission").values()
        if p["principal"] == "events.amazonaws.com"
    ]
    assert len(permissions) == 1 and "DailyUsage" in permissions[0]["source_arn"]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_core_database_hardened_like_app_databases(stacks: dict[str, Stack], env: str) -> None:
    config = load_environment(env)
    core = one(stacks[env], "aws_db_instance", "Core_Database_")
    assert core["db_name"] == "core" and core["storage_encrypted"] is True
    assert core["deletion_protection"] is config.database.deletion_protection
    assert core["multi_az"] is config.database.multi_az
    assert core["manage_master_user_password"] is True
    ingress = by_prefix(stacks[env], "aws_vpc_security_group_ingress_rule", "Core_Database_")
    assert [r["referenced_security_group_id"] for r in ingress.values()] == [
        "${aws_security_group.LambdaSecurityGroup.id}"
    ]


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_platform_dashboard_and_kms_keys(stacks: dict[str, Stack], env: str) -> None:
    stack = stacks[env]
    boards = {b["dashboard_name"] for b in resources(stack, "aws_cloudwatch_dashboard").values()}
    assert f"platform-{env}-platform" in boards
    keys = resources(stack, "aws_kms_key")
    assert len(keys) == 3 and all(k["enable_key_rotation"] for k in keys.values())
    topic = only(stack, "aws_sns_topic")
    assert "Keys_Data" in topic["kms_master_key_id"]
