"""The bucket that ALB access logs and S3 server access logs are delivered to."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from constructs import Construct

from environments.config import EnvironmentConfig
from modules.naming import Naming
from modules.private_bucket import LifecycleRule, PrivateBucket, PrivateBucketProps
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


class LogBucket(PrivateBucket):
    """SSE-S3, because ALB log delivery does not support SSE-KMS:
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    """

    def __init__(self, scope: Construct, id_: str, props: LogBucketProps) -> None:
        config = props.config
        elb_account = DataAwsElbServiceAccount(scope, f"{id_}ElbAccount", region=config.region)
        super().__init__(
            scope,
            id_,
            PrivateBucketProps(
                name=props.naming.bucket("logs"),
                lifecycle=(
                    LifecycleRule(
                        "expire-logs",
                        "",
                        expire_after_days=props.retention_days,
                        infrequent_access_after_days=30,
                    ),
                ),
                policy=lambda arn: s3_policies.log_bucket_policy(
                    bucket_arn=arn,
                    alb_prefix=ALB_LOG_PREFIX,
                    account_id=config.account_id,
                    elb_account_arn=elb_account.arn,
                ),
                force_destroy=config.name == "dev",
            ),
        )
