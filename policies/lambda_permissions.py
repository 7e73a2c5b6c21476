"""What each platform function may do beyond the basics every function gets.

Pure functions over `policies.iam` builders; each names only the resources it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies import iam

REPORTS_PREFIX = "reports/usage/"
TENANTS_PREFIX = "tenants/"
ALB_LOGS_PREFIX = "AWSLogs/"


def put_platform_events(event_bus_arn: str) -> list[iam.Statement]:
    return [iam.allow(["events:PutEvents"], [event_bus_arn], sid="PublishPlatformEvents")]


def rls_rollout(
    owner_secret_arns: Sequence[str], runtime_secret_arns: Sequence[str], data_key_arn: str
) -> list[iam.Statement]:
    """The rollout connects as each database's master (the RDS-managed secret) and, when it
    bootstraps the roles, writes the runtime and usage credentials into their own secrets."""
    return [
        *iam.secrets_read(owner_secret_arns, sid="ReadOwnerSecrets"),
        iam.allow(
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
            ],
            list(runtime_secret_arns),
            sid="WriteRuntimeSecrets",
        ),
        *iam.kms_encrypt_decrypt(data_key_arn, sid="UseDataKey"),
    ]


def tenant_onboarding(
    *,
    secret_arns: Sequence[str],
    sso_secret_arn_pattern: str,
    data_key_arn: str,
    storage_key_arn: str,
    user_pool_arn: str,
    document_bucket_arn: str,
    event_bus_arn: str,
) -> list[iam.Statement]:
    """Runtime-role secrets (never an owner's), tenant users and SSO providers in the pool,
    `tenants/` in the document bucket, and the platform's events."""
    return [
        *iam.secrets_read(secret_arns, sid="ReadRuntimeSecrets"),
        # OIDC client secrets that tenants store under tenant-sso/ (the API accepts ARNs only).
        *iam.secrets_read([sso_secret_arn_pattern], sid="ReadTenantSsoSecrets"),
        *iam.kms_decrypt(data_key_arn, sid="DecryptSecrets"),
        iam.allow(
            [
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminCreateUser",
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminGetUser",
                "cognito-idp:CreateIdentityProvider",
                "cognito-idp:DeleteIdentityProvider",
                "cognito-idp:DescribeIdentityProvider",
                "cognito-idp:ListUsers",
            ],
            [user_pool_arn],
            sid="TenantUsersAndSso",
        ),
        *iam.s3_write_prefix(document_bucket_arn, TENANTS_PREFIX, sid="TenantManifests"),
        *iam.s3_read_prefix(document_bucket_arn, TENANTS_PREFIX, sid="TenantObjects"),
        *iam.s3_delete_prefix(document_bucket_arn, TENANTS_PREFIX, sid="OffboardTenantObjects"),
        *iam.kms_encrypt_decrypt(storage_key_arn, sid="UseStorageKey"),
        *put_platform_events(event_bus_arn),
    ]


def usage_aggregation(
    *,
    secret_arns: Sequence[str],
    data_key_arn: str,
    storage_key_arn: str,
    log_bucket_arn: str,
    document_bucket_arn: str,
    metrics_namespace: str,
    event_bus_arn: str,
) -> list[iam.Statement]:
    return [
        *iam.secrets_read(secret_arns, sid="ReadRuntimeSecrets"),
        *iam.kms_decrypt(data_key_arn, sid="DecryptSecrets"),
        *iam.s3_read_prefix(log_bucket_arn, ALB_LOGS_PREFIX, sid="AlbAccessLogs"),
        *iam.s3_write_prefix(document_bucket_arn, REPORTS_PREFIX, sid="UsageReports"),
        *iam.kms_encrypt_decrypt(storage_key_arn, sid="UseStorageKey"),
        *iam.put_metric_data(metrics_namespace),
        *put_platform_events(event_bus_arn),
    ]
