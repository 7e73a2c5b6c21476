"""IAM and key policy documents of the infrastructure, as plain data.

Pure functions that return policy documents (dicts); constructs render them with
`Fn.jsonencode`, and tests read them without cdktf. ARNs may be Terraform tokens.
"""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]
Statement = dict[str, Any]


def document(*statements: Statement) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str], resources: list[str], sid: str | None = None) -> Statement:
    statement: Statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if sid:
        statement["Sid"] = sid
    return statement


def service_trust(service: str, source_account: str | None = None) -> Document:
    """Trust policy letting one AWS service assume a role, optionally only for our account."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(statement)


def flow_logs_delivery(log_group_arn: str) -> Document:
    return document(
        allow(
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [log_group_arn, f"{log_group_arn}:*"],
        )
    )


def kms_key_policy(
    partition: str, account_id: str, region: str, service_principals: list[str]
) -> Document:
    """Key policy: the account administers the key; named services may use it.

    CloudWatch Logs must be named in the key policy itself (an IAM grant is not enough),
    limited here to log groups of this account and region.
    """
    root = f"arn:{partition}:iam::{account_id}:root"
    statements: list[Statement] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    for service in service_principals:
        statement: Statement = {
            "Sid": "Use" + "".join(part.title() for part in service.split(".")[0].split("-")),
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
        if service.startswith("logs."):
            statement["Condition"] = {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
                    )
                }
            }
        statements.append(statement)
    return document(*statements)


def instance_role_statements(app: str, log_group_arn: str) -> list[Statement]:
    """What an app instance needs beyond the SSM managed policy: its own log group."""
    return [
        allow(
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [log_group_arn, f"{log_group_arn}:*"],
            sid=f"{app.title()}Logs",
        )
    ]
