"""An S3 bucket that is private, versioned, encrypted and TLS-only, with lifecycle rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cdktf import Fn
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

SseDefault = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA


@dataclass(frozen=True)
class LifecycleRule:
    """Expire (and optionally move to Infrequent Access) the objects under one prefix."""

    rule_id: str
    prefix: str
    expire_after_days: int | None = None
    infrequent_access_after_days: int | None = None
    noncurrent_expire_after_days: int = 30


@dataclass(frozen=True)
class PrivateBucketProps:
    name: str
    lifecycle: tuple[LifecycleRule, ...]
    # Receives the bucket ARN; returns the bucket policy (a deny of plain HTTP is added).
    policy: Callable[[str], dict[str, Any]]
    kms_key_arn: str | None = None
    access_log_bucket: str | None = None
    access_log_prefix: str = ""
    force_destroy: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class PrivateBucket(Construct):
    """SSE-KMS when a key is given, SSE-S3 otherwise (for delivery services that cannot use
    KMS). Object ownership is enforced, so ACLs play no part."""

    def __init__(self, scope: Construct, id_: str, props: PrivateBucketProps) -> None:
        super().__init__(scope, id_)
        self.bucket = S3Bucket(
            self,
            "Bucket",
            bucket=props.name,
            force_destroy=props.force_destroy,
            tags=props.tags or None,
        )
        bucket_id = self.bucket.id
        # Read once: each attribute read is a jsii round trip, and callers read these often.
        self.name: str = self.bucket.bucket
        self.arn: str = self.bucket.arn

        S3BucketOwnershipControls(
            self,
            "Ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketPublicAccessBlock(
            self,
            "PublicAccess",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketVersioningA(
            self,
            "Versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        kms = props.kms_key_arn
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "Encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=SseDefault(
                        sse_algorithm="aws:kms" if kms else "AES256", kms_master_key_id=kms
                    ),
                    bucket_key_enabled=bool(kms),
                )
            ],
        )
        S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            bucket=bucket_id,
            rule=[
                *(_lifecycle_rule(rule) for rule in props.lifecycle),
                # Bucket-wide, so that no prefix keeps paying for failed multipart uploads.
                S3BucketLifecycleConfigurationRule(
                    id="abort-incomplete-uploads",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=7
                        )
                    ],
                ),
            ],
        )
        if props.access_log_bucket:
            S3BucketLoggingA(
                self,
                "AccessLogs",
                bucket=bucket_id,
                target_bucket=props.access_log_bucket,
                target_prefix=props.access_log_prefix,
            )
        S3BucketPolicy(
            self, "Policy", bucket=bucket_id, policy=Fn.jsonencode(props.policy(self.arn))
        )


def _lifecycle_rule(rule: LifecycleRule) -> S3BucketLifecycleConfigurationRule:
    return S3BucketLifecycleConfigurationRule(
        id=rule.rule_id,
        status="Enabled",
        filter=[S3BucketLifecycleConfigurationRuleFilter(prefix=rule.prefix)],
        expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=rule.expire_after_days)]
        if rule.expire_after_days
        else None,
        transition=[
            S3BucketLifecycleConfigurationRuleTransition(
                days=rule.infrequent_access_after_days, storage_class="STANDARD_IA"
            )
        ]
        if rule.infrequent_access_after_days
        else None,
        noncurrent_version_expiration=[
            S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                noncurrent_days=rule.noncurrent_expire_after_days
            )
        ],
    )
