"""IAM statements of the Lambda roles: least privilege, "*" only where AWS requires it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies.iam import (
    ACTIONS_WITHOUT_RESOURCE_SCOPE,
    Statement,
    cognito_user_admin,
    document,
    dynamodb_item_access,
    kms_decrypt,
    kms_encrypt_decrypt,
    lambda_basic_statements,
    lambda_function_statements,
    lambda_trust_statement,
    put_metric_data,
    s3_delete_prefix,
    s3_read_prefix,
    s3_write_prefix,
    secrets_read,
    sqs_send,
    vpc_access_statements,
    xray_statements,
)

LOG_GROUP = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/platform-dev-rls-rollout"
QUEUE = "arn:aws:sqs:eu-west-1:111122223333:platform-dev-rls-rollout-dlq"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/0f0e0d0c-0000-4000-8000-000000000000"
BUCKET = "arn:aws:s3:::platform-dev-documents-1a2b3c4d"


def all_builders() -> list[tuple[str, Callable[[], list[Statement]]]]:
    return [
        ("basic", lambda: lambda_basic_statements(LOG_GROUP)),
        ("vpc", vpc_access_statements),
        ("xray", xray_statements),
        ("metrics", lambda: put_metric_data("Platform")),
        ("sqs", lambda: sqs_send(QUEUE)),
        ("kms-decrypt", lambda: kms_decrypt(KEY)),
        ("kms-use", lambda: kms_encrypt_decrypt(KEY)),
        ("secrets", lambda: secrets_read([f"{KEY}-secret"])),
        ("s3-read", lambda: s3_read_prefix(BUCKET, "reports/usage/", sid="Reports")),
        ("s3-write", lambda: s3_write_prefix(BUCKET, "reports/usage/", sid="Reports")),
        ("s3-delete", lambda: s3_delete_prefix(BUCKET, "tenants/", sid="Offboard")),
        ("cognito", lambda: cognito_user_admin("arn:aws:cognito-idp:eu-west-1:1:userpool/p")),
        ("dynamodb", lambda: dynamodb_item_access("arn:aws:dynamodb:eu-west-1:1:table/t")),
        ("function", lambda: lambda_function_statements(LOG_GROUP, QUEUE, KEY)),
    ]


@pytest.mark.parametrize(("case", "build"), all_builders(), ids=[c for c, _ in all_builders()])
def test_statements_grant_no_star_action_and_star_resource_only_where_required(
    case: str, build: Callable[[], list[Statement]]
) -> None:
    statements = build()

    assert statements, case
    for statement in statements:
        actions = statement["Action"]
        assert statement["Effect"] == "Allow"
        assert actions == sorted(actions)
        assert not [action for action in actions if action == "*" or action.endswith(":*")]
        if "*" in statement["Resource"]:
            assert statement["Resource"] == ["*"]
            assert set(actions) <= ACTIONS_WITHOUT_RESOURCE_SCOPE


@pytest.mark.parametrize(
    ("case", "build", "message"),
    [
        ("log group star", lambda: lambda_basic_statements("*"), "log_group_arn"),
        ("queue empty", lambda: sqs_send(""), "queue_arn"),
        ("key star", lambda: kms_decrypt(" * "), "key_arn"),
        ("no secrets", lambda: secrets_read([]), "at least one secret"),
        ("secret star", lambda: secrets_read(["*"]), "secret_arns"),
        ("prefix leading slash", lambda: s3_read_prefix(BUCKET, "/x/", sid="S"), "prefix"),
        ("prefix without slash", lambda: s3_write_prefix(BUCKET, "reports", sid="S"), "prefix"),
        ("prefix wildcard", lambda: s3_delete_prefix(BUCKET, "tenants/*/", sid="S"), "prefix"),
        ("bucket star", lambda: s3_read_prefix("*", "reports/", sid="S"), "bucket_arn"),
        ("namespace star", lambda: put_metric_data("*"), "namespace"),
    ],
)
def test_builders_reject_wildcards_naming_the_field(
    case: str, build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_function_statements_scope_each_grant_to_its_resource() -> None:
    by_sid = {s["Sid"]: s for s in lambda_function_statements(LOG_GROUP, QUEUE, KEY)}

    assert by_sid["WriteOwnLogGroup"]["Resource"] == [f"{LOG_GROUP}:log-stream:*"]
    assert by_sid["SendToDeadLetterQueue"] == {
        "Sid": "SendToDeadLetterQueue",
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": [QUEUE],
    }
    assert by_sid["UseFunctionKey"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert by_sid["UseFunctionKey"]["Resource"] == [KEY]
    assert "ec2:CreateNetworkInterface" in by_sid["ManageVpcNetworkInterfaces"]["Action"]
    assert "xray:PutTraceSegments" in by_sid["WriteTraces"]["Action"]


def test_s3_prefix_grants_list_only_under_the_prefix() -> None:
    listing, reading = s3_read_prefix(BUCKET, "reports/usage/", sid="Reports")

    assert listing["Resource"] == [BUCKET]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["reports/usage/*"]}}
    assert reading["Resource"] == [f"{BUCKET}/reports/usage/*"]


def test_trust_statement_limits_lambda_to_the_account() -> None:
    trust = document([lambda_trust_statement("111122223333")])

    assert trust["Version"] == "2012-10-17"
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"}
    }
