"""IAM statements of the Lambda functions' roles, as plain data.

Pure functions that return IAM JSON statements (dicts); the Lambda construct turns them into
an ``aws_iam_policy_document`` and the policy gate reads them back from the plan. ARNs may be
Terraform tokens. A builder refuses ``*`` or an empty ARN, so a role can only be widened to
every resource through ``ACTIONS_WITHOUT_RESOURCE_SCOPE``, the list the policy gate accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Statement = dict[str, Any]
Document = dict[str, Any]

LAMBDA_SERVICE = "lambda.amazonaws.com"

# Lambda creates and deletes the elastic network interfaces of a function in a VPC. These EC2
# actions are not scoped to a resource by Lambda's managed policy AWSLambdaVPCAccessExecutionRole;
# the Describe* actions support no resource-level permissions at all. AWS requires "*".
VPC_ACCESS_ACTIONS: tuple[str, ...] = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
# X-Ray's trace and sampling APIs support no resource-level permissions: AWS requires "*".
XRAY_ACTIONS: tuple[str, ...] = (
    "xray:GetSamplingRules",
    "xray:GetSamplingStatisticSummaries",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
# PutMetricData supports no resource-level permissions; its condition key scopes the namespace.
METRIC_ACTIONS: tuple[str, ...] = ("cloudwatch:PutMetricData",)

# The only actions a statement may grant on Resource "*": each supports no resource-level
# permissions (Service Authorization Reference), so no narrower Resource is possible.
ACTIONS_WITHOUT_RESOURCE_SCOPE: frozenset[str] = frozenset(
    {*VPC_ACCESS_ACTIONS, *XRAY_ACTIONS, *METRIC_ACTIONS}
)


def _require_arn(function: str, field: str, value: str) -> str:
    if not value.strip() or value.strip() == "*":
        raise ValueError(f"{function}: {field} must name one resource, got {value!r}")
    return value


def allow(
    actions: Sequence[str],
    resources: Sequence[str],
    sid: str,
    condition: dict[str, dict[str, str | list[str]]] | None = None,
) -> Statement:
    """One Allow statement with sorted actions, so the document is stable."""
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": list(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def document(statements: Sequence[Statement]) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def lambda_trust_statement(account_id: str) -> Statement:
    """Lambda may assume the role, only on behalf of functions of this account."""
    return {
        "Sid": "LambdaAssumesRole",
        "Effect": "Allow",
        "Principal": {"Service": LAMBDA_SERVICE},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    }


def lambda_basic_statements(log_group_arn: str) -> list[Statement]:
    """Write to the function's own log group; the group itself is created by Terraform."""
    _require_arn("lambda_basic_statements", "log_group_arn", log_group_arn)
    return [
        allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"{log_group_arn}:log-stream:*"],
            sid="WriteOwnLogGroup",
        )
    ]


def vpc_access_statements() -> list[Statement]:
    """Manage the function's network interfaces in its VPC subnets.

    Resource "*" is required by AWS here: see ``VPC_ACCESS_ACTIONS``.
    """
    return [allow(VPC_ACCESS_ACTIONS, ["*"], sid="ManageVpcNetworkInterfaces")]


def xray_statements() -> list[Statement]:
    """Send traces and read sampling rules; Resource "*" is required by AWS (``XRAY_ACTIONS``)."""
    return [allow(XRAY_ACTIONS, ["*"], sid="WriteTraces")]


def put_metric_data(namespace: str) -> list[Statement]:
    """Publish metrics to one namespace (the condition key is the only scope AWS offers)."""
    if not namespace or "*" in namespace:
        raise ValueError(f"put_metric_data: namespace must be one namespace, got {namespace!r}")
    return [
        allow(
            METRIC_ACTIONS,
            ["*"],
            sid="PutMetricsInOwnNamespace",
            condition={"StringEquals": {"cloudwatch:namespace": namespace}},
        )
    ]


def sqs_send(queue_arn: str, sid: str = "SendToDeadLetterQueue") -> list[Statement]:
    _require_arn("sqs_send", "queue_arn", queue_arn)
    return [allow(["sqs:SendMessage"], [queue_arn], sid=sid)]


def kms_decrypt(key_arn: str, sid: str = "DecryptWithKey") -> list[Statement]:
    """Decrypt with one key: encrypted environment variables, secrets, objects."""
    _require_arn("kms_decrypt", "key_arn", key_arn)
    return [allow(["kms:Decrypt"], [key_arn], sid=sid)]


def kms_encrypt_decrypt(key_arn: str, sid: str = "UseKey") -> list[Statement]:
    """Encrypt and decrypt with one key: writing to SSE-KMS queues and buckets."""
    _require_arn("kms_encrypt_decrypt", "key_arn", key_arn)
    return [allow(["kms:Decrypt", "kms:GenerateDataKey"], [key_arn], sid=sid)]


def secrets_read(secret_arns: Sequence[str], sid: str = "ReadDatabaseSecrets") -> list[Statement]:
    for arn in secret_arns:
        _require_arn("secrets_read", "secret_arns", arn)
    if not secret_arns:
        raise ValueError("secrets_read: secret_arns must name at least one secret, got []")
    return [
        allow(
            ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            secret_arns,
            sid=sid,
        )
    ]


def _prefix(function: str, prefix: str) -> str:
    if not prefix or prefix.startswith("/") or not prefix.endswith("/") or "*" in prefix:
        raise ValueError(
            f"{function}: prefix must be a key prefix such as 'reports/usage/' (no leading "
            f"'/', a trailing '/', no '*'), got {prefix!r}"
        )
    return prefix


def s3_read_prefix(bucket_arn: str, prefix: str, sid: str) -> list[Statement]:
    """List and read the objects under one prefix of one bucket."""
    _require_arn("s3_read_prefix", "bucket_arn", bucket_arn)
    _prefix("s3_read_prefix", prefix)
    return [
        allow(
            ["s3:ListBucket"],
            [bucket_arn],
            sid=f"{sid}List",
            condition={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        ),
        allow(["s3:GetObject"], [f"{bucket_arn}/{prefix}*"], sid=f"{sid}Read"),
    ]


def s3_write_prefix(bucket_arn: str, prefix: str, sid: str) -> list[Statement]:
    """Write objects under one prefix of one bucket."""
    _require_arn("s3_write_prefix", "bucket_arn", bucket_arn)
    _prefix("s3_write_prefix", prefix)
    return [allow(["s3:PutObject"], [f"{bucket_arn}/{prefix}*"], sid=f"{sid}Write")]


def s3_delete_prefix(bucket_arn: str, prefix: str, sid: str) -> list[Statement]:
    """List and delete the objects (and their versions) under one prefix of one bucket."""
    _require_arn("s3_delete_prefix", "bucket_arn", bucket_arn)
    _prefix("s3_delete_prefix", prefix)
    return [
        allow(
            ["s3:ListBucket", "s3:ListBucketVersions"],
            [bucket_arn],
            sid=f"{sid}List",
            condition={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        ),
        allow(
            ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            [f"{bucket_arn}/{prefix}*"],
            sid=f"{sid}Delete",
        ),
    ]


def cognito_user_admin(user_pool_arn: str) -> list[Statement]:
    """Create, read, disable and list the users of one user pool (tenant onboarding)."""
    _require_arn("cognito_user_admin", "user_pool_arn", user_pool_arn)
    return [
        allow(
            [
                "cognito-idp:AdminCreateUser",
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminUpdateUserAttributes",
                "cognito-idp:ListUsers",
            ],
            [user_pool_arn],
            sid="AdministerTenantUsers",
        )
    ]


def dynamodb_item_access(table_arn: str, sid: str = "IdempotencyRecords") -> list[Statement]:
    """Read and write the items of one table, such as the idempotency store of powertools."""
    _require_arn("dynamodb_item_access", "table_arn", table_arn)
    return [
        allow(
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [table_arn],
            sid=sid,
        )
    ]


def lambda_function_statements(
    log_group_arn: str, dead_letter_queue_arn: str, kms_key_arn: str
) -> list[Statement]:
    """What every function of the platform needs: logs, its VPC interfaces, traces, its DLQ.

    The key encrypts the environment variables, the log group and the dead-letter queue:
    reading the variables needs Decrypt; sending to the SSE-KMS queue needs GenerateDataKey.
    """
    return [
        *lambda_basic_statements(log_group_arn),
        *vpc_access_statements(),
        *xray_statements(),
        *sqs_send(dead_letter_queue_arn),
        *kms_encrypt_decrypt(kms_key_arn, sid="UseFunctionKey"),
    ]
