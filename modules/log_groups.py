"""A CloudWatch log group with the environment's retention, encrypted with the logs key."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from environments.config import EnvironmentConfig


def encrypted_log_group(
    scope: Construct, id_: str, name: str, config: EnvironmentConfig, kms_key_arn: str
) -> CloudwatchLogGroup:
    return CloudwatchLogGroup(
        scope, id_, name=name, retention_in_days=config.log_retention_days, kms_key_id=kms_key_arn
    )
