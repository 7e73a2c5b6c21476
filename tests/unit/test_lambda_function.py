"""The Lambda construct, against the synthesized Terraform JSON of a tiny stack.

The stack is synthesized once per session: importing the provider bindings is the slow part.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.naming import Naming
from policies.iam import ACTIONS_WITHOUT_RESOURCE_SCOPE, sqs_send
from scripts.package_lambdas import Package, source_code_hash, write_deterministic_zip

ACCOUNT = "111122223333"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/0f0e0d0c-0000-4000-8000-000000000000"
EXTRA_QUEUE = "arn:aws:sqs:eu-west-1:111122223333:platform-dev-extra"
TOPIC_ARN = "arn:aws:sns:eu-west-1:111122223333:platform-dev-alarms"
NAMING = Naming("platform", "dev", "dev.platform.example.com")
Resources = dict[str, dict[str, Any]]


def fake_package(directory: Path, name: str) -> Package:
    source = directory / f"{name}.py"
    source.write_text(f"NAME = {name!r}\n")
    path = directory / f"{name}.zip"
    write_deterministic_zip([(f"lambdas/{name}.py", source)], path)
    return Package(name, path, source_code_hash(path), path.stat().st_size)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Package]:
    from cdktf import App, TerraformStack, Testing
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from modules.lambda_function import (
        LambdaFunction,
        LambdaFunctionProps,
        LambdaLayer,
        LambdaLayerProps,
    )

    work = tmp_path_factory.mktemp("lambda-construct")
    code = fake_package(work, "rls_rollout")
    app = App(outdir=str(work / "out"))
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-west-1")
    layer = LambdaLayer(stack, "Dependencies", LambdaLayerProps(NAMING, fake_package(work, "deps")))
    LambdaFunction(
        stack,
        "RlsRollout",
        LambdaFunctionProps(
            naming=NAMING,
            function="rls_rollout",
            package=code,
            layer_arns=(layer.arn,),
            account_id=ACCOUNT,
            subnet_ids=("subnet-aaa", "subnet-bbb"),
            security_group_ids=("sg-123",),
            kms_key_arn=KEY_ARN,
            metrics_namespace="Platform",
            alarm_topic_arn=TOPIC_ARN,
            policy_statements=tuple(sqs_send(EXTRA_QUEUE, sid="SendExtra")),
            environment={"CORE_DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:x"},
            timeout_seconds=120,
            memory_mb=512,
            reserved_concurrency=2,
            log_retention_days=90,
        ),
    )
    return json.loads(Testing.synth(stack)), code


def only(resources: Resources) -> dict[str, Any]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.values()))


def test_function_runs_packaged_code_on_python312_x86_64(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, code = synthesized
    function = only(config["resource"]["aws_lambda_function"])

    assert function["function_name"] == "platform-dev-rls-rollout"
    assert function["handler"] == "lambdas.rls_rollout.handler.handler"
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["x86_64"]
    assert function["source_code_hash"] == code.source_code_hash
    assert function["filename"].startswith("assets/")
    assert function["filename"].endswith("/rls_rollout.zip")
    assert str(code.path.parent) not in json.dumps(config)


def test_function_has_tracing_concurrency_vpc_dlq_and_encrypted_variables(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    resources = config["resource"]
    function = only(resources["aws_lambda_function"])
    queue_id = next(iter(resources["aws_sqs_queue"]))

    assert function["tracing_config"] == {"mode": "Active"}
    assert function["reserved_concurrent_executions"] == 2
    assert function["timeout"] == 120
    assert function["memory_size"] == 512
    assert function["vpc_config"] == {
        "subnet_ids": ["subnet-aaa", "subnet-bbb"],
        "security_group_ids": ["sg-123"],
    }
    assert function["dead_letter_config"] == {"target_arn": f"${{aws_sqs_queue.{queue_id}.arn}}"}
    assert function["kms_key_arn"] == KEY_ARN
    layer_id = next(iter(resources["aws_lambda_layer_version"]))
    assert function["layers"] == [f"${{aws_lambda_layer_version.{layer_id}.arn}}"]


def test_function_variables_add_powertools_settings_to_props(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    function = only(config["resource"]["aws_lambda_function"])

    assert function["environment"]["variables"] == {
        "CORE_DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:x",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_METRICS_NAMESPACE": "Platform",
        "POWERTOOLS_SERVICE_NAME": "rls-rollout",
    }


def test_function_waits_for_its_log_group_and_role_policy(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    resources = config["resource"]
    function = only(resources["aws_lambda_function"])
    log_group_id = next(iter(resources["aws_cloudwatch_log_group"]))
    policy_id = next(iter(resources["aws_iam_role_policy"]))

    assert sorted(function["depends_on"]) == sorted(
        [f"aws_cloudwatch_log_group.{log_group_id}", f"aws_iam_role_policy.{policy_id}"]
    )


def test_log_group_and_dead_letter_queue_are_encrypted_with_retention(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    log_group = only(config["resource"]["aws_cloudwatch_log_group"])
    queue = only(config["resource"]["aws_sqs_queue"])

    assert log_group == {
        "name": "/aws/lambda/platform-dev-rls-rollout",
        "retention_in_days": 90,
        "kms_key_id": KEY_ARN,
    }
    assert queue["name"] == "platform-dev-rls-rollout-dlq"
    assert queue["kms_master_key_id"] == KEY_ARN
    assert queue["message_retention_seconds"] == 1_209_600


def test_errors_throttles_and_dead_letters_alarm_on_the_first_one(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    alarms = {
        alarm["alarm_name"]: alarm
        for alarm in config["resource"]["aws_cloudwatch_metric_alarm"].values()
    }

    assert sorted(alarms) == [
        "platform-dev-rls-rollout-dead-letters",
        "platform-dev-rls-rollout-errors",
        "platform-dev-rls-rollout-throttles",
    ]
    function = {"FunctionName": "platform-dev-rls-rollout"}
    expected = {
        "errors": ("AWS/Lambda", "Errors", function, "Sum"),
        "throttles": ("AWS/Lambda", "Throttles", function, "Sum"),
        "dead-letters": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "platform-dev-rls-rollout-dlq"},
            "Maximum",
        ),
    }
    for suffix, (namespace, metric, dimensions, statistic) in expected.items():
        alarm = alarms[f"platform-dev-rls-rollout-{suffix}"]
        assert (alarm["namespace"], alarm["metric_name"]) == (namespace, metric)
        assert alarm["dimensions"] == dimensions
        assert alarm["statistic"] == statistic
        assert (alarm["threshold"], alarm["evaluation_periods"]) == (1, 1)
        assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [TOPIC_ARN]


def documents(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        name: body["statement"] for name, body in config["data"]["aws_iam_policy_document"].items()
    }


def test_role_policy_grants_no_star_action_and_star_resource_only_where_required(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    permissions = next(v for k, v in documents(config).items() if "Permissions" in k)

    sids = [statement["sid"] for statement in permissions]
    assert sids == [
        "WriteOwnLogGroup",
        "ManageVpcNetworkInterfaces",
        "WriteTraces",
        "SendToDeadLetterQueue",
        "UseFunctionKey",
        "SendExtra",
    ]
    for statement in permissions:
        assert statement["effect"] == "Allow"
        assert not [a for a in statement["actions"] if a == "*" or a.endswith(":*")]
        if "*" in statement["resources"]:
            assert set(statement["actions"]) <= ACTIONS_WITHOUT_RESOURCE_SCOPE
    by_sid = {statement["sid"]: statement for statement in permissions}
    assert by_sid["SendExtra"]["resources"] == [EXTRA_QUEUE]
    assert by_sid["UseFunctionKey"]["resources"] == [KEY_ARN]


def test_role_trusts_lambda_of_this_account_only(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    trust = next(v for k, v in documents(config).items() if "Trust" in k)
    role = only(config["resource"]["aws_iam_role"])

    assert role["name"] == "platform-dev-rls-rollout-role"
    assert trust == [
        {
            "sid": "LambdaAssumesRole",
            "effect": "Allow",
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
            "condition": [
                {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]}
            ],
        }
    ]


def test_layer_is_built_for_the_function_runtime(
    synthesized: tuple[dict[str, Any], Package],
) -> None:
    config, _ = synthesized
    layer = only(config["resource"]["aws_lambda_layer_version"])

    assert layer["layer_name"] == "platform-dev-lambda-dependencies"
    assert layer["compatible_runtimes"] == ["python3.12"]
    assert layer["compatible_architectures"] == ["x86_64"]
    assert layer["filename"].startswith("assets/")


def props_with(tmp_path: Path, **changes: Any) -> Callable[[], object]:
    from modules.lambda_function import LambdaFunctionProps

    values: dict[str, Any] = {
        "naming": NAMING,
        "function": "usage_aggregation",
        "package": fake_package(tmp_path, "usage_aggregation"),
        "layer_arns": ("arn:aws:lambda:eu-west-1:1:layer:deps:1",),
        "account_id": ACCOUNT,
        "subnet_ids": ("subnet-a",),
        "security_group_ids": ("sg-a",),
        "kms_key_arn": KEY_ARN,
        "metrics_namespace": "Platform",
        "alarm_topic_arn": TOPIC_ARN,
        **changes,
    }
    return lambda: LambdaFunctionProps(**values)


@pytest.mark.parametrize(
    ("case", "changes", "message"),
    [
        ("unknown function", {"function": "billing"}, "function 'billing' is unknown"),
        ("short account", {"account_id": "1234"}, "account_id '1234' must be 12 digits"),
        ("no subnets", {"subnet_ids": ()}, "subnet_ids must hold at least one value"),
        ("no layer", {"layer_arns": ()}, "layer_arns must hold at least one value"),
        ("timeout too long", {"timeout_seconds": 901}, "timeout_seconds 901 must lie in 1..900"),
        ("memory too small", {"memory_mb": 64}, "memory_mb 64 must lie in 128..10240"),
        ("zero concurrency", {"reserved_concurrency": 0}, "reserved_concurrency 0 must be >= 1"),
        ("odd retention", {"log_retention_days": 10}, "log_retention_days 10 is not one of"),
        ("bad log level", {"log_level": "TRACE"}, "log_level 'TRACE' is not one of"),
        (
            "reserved variable",
            {"environment": {"POWERTOOLS_SERVICE_NAME": "x"}},
            "environment variable 'POWERTOOLS_SERVICE_NAME' is not allowed",
        ),
        (
            "runtime variable",
            {"environment": {"AWS_REGION": "eu-west-1"}},
            "environment variable 'AWS_REGION' is not allowed",
        ),
        (
            "dlq retention",
            {"dead_letter_retention_seconds": 30},
            "dead_letter_retention_seconds 30 must lie in 60..1209600",
        ),
    ],
)
def test_props_reject_invalid_values_naming_field_and_limit(
    tmp_path: Path, case: str, changes: dict[str, Any], message: str
) -> None:
    build = props_with(tmp_path, **changes)

    with pytest.raises(ValueError, match=message):
        build()
