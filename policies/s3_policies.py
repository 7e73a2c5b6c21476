"""Bucket policies as plain data."""

from __future__ import annotations

from policies.infra_iam import Document, Statement, document


def deny_insecure_transport(bucket_arn: str) -> Statement:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def log_bucket_policy(
    bucket_arn: str, alb_prefix: str, account_id: str, elb_account_arn: str
) -> Document:
    """ALB log delivery: the regional ELB account (regions before August 2022) and the
    log-delivery service principal (newer regions) may write under the ALB prefix only;
    S3 server access logging writes under `s3/`."""
    prefix = f"{alb_prefix}/" if alb_prefix else ""
    alb_objects = f"{bucket_arn}/{prefix}AWSLogs/{account_id}/*"
    return document(
        deny_insecure_transport(bucket_arn),
        {
            "Sid": "AlbLogDeliveryRegionalAccount",
            "Effect": "Allow",
            "Principal": {"AWS": elb_account_arn},
            "Action": "s3:PutObject",
            "Resource": alb_objects,
        },
        {
            "Sid": "AlbLogDeliveryService",
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": alb_objects,
        },
        {
            "Sid": "S3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/s3/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    )


def document_bucket_policy(bucket_arn: str) -> Document:
    return document(deny_insecure_transport(bucket_arn))


def tenant_app_prefix(app: str) -> str:
    """Objects of one app for every tenant: `tenants/<tenant_id>/<app>/...`."""
    return f"tenants/*/{app}/"


def app_document_statements(bucket_arn: str, app: str, kms_key_arn: str) -> list[Statement]:
    """An app's instances read and write its own prefix of every tenant, and nothing else.

    The tenant boundary inside the prefix is the app's to enforce (it knows the signed-in
    tenant); IAM keeps each app out of the other apps' documents and the platform's files.
    """
    prefix = tenant_app_prefix(app)
    return [
        {
            "Sid": "ListOwnAppPrefixes",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        {
            "Sid": "ReadWriteOwnAppObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [f"{bucket_arn}/{prefix}*"],
        },
        {
            "Sid": "UseDocumentKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [kms_key_arn],
            "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
        },
    ]
