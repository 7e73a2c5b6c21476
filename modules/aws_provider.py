"""The AWS provider and the state backend of a stack, as the synth settings say."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderEndpoints

from environments.config import EnvironmentConfig
from environments.settings import PlatformSettings

# Every service the stacks call; in offline and emulator targets each is pointed at one
# endpoint, so that no call can reach a real AWS endpoint by accident.
ENDPOINT_SERVICES: tuple[str, ...] = (
    "acm", "apigateway", "autoscaling", "cloudwatch", "cloudwatchlogs", "cognitoidp", "dynamodb",
    "ec2", "elasticache", "elbv2", "events", "iam", "kms", "lambda_", "rds", "route53", "s3",
    "secretsmanager", "sns", "sqs", "ssm", "sts", "wafv2",
)  # fmt: skip


def configure_provider(
    stack: TerraformStack, config: EnvironmentConfig, settings: PlatformSettings
) -> AwsProvider:
    tags = config.default_tags
    endpoint = settings.endpoint
    if endpoint is None:
        return AwsProvider(
            stack,
            "aws",
            region=config.region,
            allowed_account_ids=[config.account_id],
            default_tags=[{"tags": tags}],
        )
    return AwsProvider(
        stack,
        "aws",
        region=config.region,
        access_key="local",
        secret_key="local",
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check="true",
        skip_region_validation=True,
        s3_use_path_style=True,
        endpoints=[AwsProviderEndpoints(**dict.fromkeys(ENDPOINT_SERVICES, endpoint))],
        default_tags=[{"tags": tags}],
    )


def configure_backend(
    stack: TerraformStack, config: EnvironmentConfig, settings: PlatformSettings
) -> None:
    if settings.backend == "local":
        LocalBackend(stack, path=str(settings.state_dir / f"{config.stack_id}.tfstate"))
        return
    S3Backend(
        stack,
        bucket=config.state_bucket,
        key=config.state_key,
        region=config.region,
        encrypt=True,
    )
    # S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no field for it.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
