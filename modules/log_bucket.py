"""The bucket that ALB access logs and S3 server access logs are delivered to."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
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

from environments.config import EnvironmentConfig
from modules.naming import Naming
from policies import s3_policies

# ALB writes under AWSLogs/<account>/elasticloadbalancing/<region>/YYYY/MM/DD/ with no
# prefix of ours: the usage aggregation reads exactly that layout.
ALB_LOG_PREFIX = ""
S3_ACCESS_LOG_PREFIX = "s3/"


@dataclass(frozen=True)
class LogBucketProps:
    config: EnvironmentConfig
    naming: Naming
    retention_days: int = 400


class LogBucket(Construct):
    """Versioned, private, TLS-only. ALB log delivery supports only SSE-S3 (not SSE-KMS):
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    """

    def __init__(self, scope: Construct, id_: str, props: LogBucketProps) -> None:
        super().__init__(scope, id_)
        config = props.config

        self.bucket = S3Bucket(
            self, "Bucket", bucket=props.naming.bucket("logs"), force_destroy=config.name == "dev"
        )
        bucket_id = self.bucket.id
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
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "Encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="AES256"
                        )
                    )
                )
            ],
        )
        S3BucketLifecycleConfiguration(
            self,
            "Lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-logs",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    expiration=[
                        S3BucketLifecycleConfigurationRuleExpiration(days=props.retention_days)
                    ],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=30
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=7
                        )
                    ],
                )
            ],
        )
        elb_account = DataAwsElbServiceAccount(self, "ElbAccount", region=config.region)
        S3BucketPolicy(
            self,
            "Policy",
            bucket=bucket_id,
            policy=Fn.jsonencode(
                s3_policies.log_bucket_policy(
                    bucket_arn=self.bucket.arn,
                    alb_prefix=ALB_LOG_PREFIX,
                    account_id=config.account_id,
                    elb_account_arn=elb_account.arn,
                )
            ),
        )
