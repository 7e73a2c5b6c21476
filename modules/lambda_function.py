"""A platform Lambda function: packaged code, its own role, log group, dead-letter queue, VPC,
and alarms on its errors, throttles and dead letters.

The code zip and the dependencies layer come from ``scripts.package_lambdas`` (deterministic,
so ``source_code_hash`` only changes when the source does). The role's policy is built from the
plain statements of ``policies.iam`` as an ``aws_iam_policy_document`` data source: it makes no
AWS call, and its statements stay readable in the plan's configuration for the policy gate
even while the ARNs they name are unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction as LambdaFunctionResource,
)
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from cdktf_cdktf_provider_aws.lambda_layer_version import LambdaLayerVersion
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from environments.config import LOG_RETENTION_DAYS
from modules.alarms import create_alarms
from modules.dashboard_bodies import AlarmSpec
from modules.naming import Naming
from policies.iam import Statement, lambda_function_statements, lambda_trust_statement
from scripts.package_lambdas import FUNCTIONS, TARGET_ARCHITECTURE, TARGET_RUNTIME, Package

LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Set by the construct itself, or reserved by the Lambda runtime: props may not set them.
RESERVED_VARIABLES = frozenset(
    {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_METRICS_NAMESPACE",
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)
_VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
MAX_TIMEOUT_SECONDS = 900
MEMORY_MB_RANGE = (128, 10240)
SQS_RETENTION_SECONDS_RANGE = (60, 1_209_600)


def policy_document(
    scope: Construct, id_: str, statements: Sequence[Statement]
) -> DataAwsIamPolicyDocument:
    """An ``aws_iam_policy_document`` from IAM JSON statements (``Effect``/``Action``/...)."""
    return DataAwsIamPolicyDocument(
        scope, id_, statement=[_statement_block(statement) for statement in statements]
    )


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _statement_block(statement: Statement) -> DataAwsIamPolicyDocumentStatement:
    known = {"Sid", "Effect", "Action", "NotAction", "Resource", "Principal", "Condition"}
    unknown = sorted(set(statement) - known)
    if unknown:
        raise ValueError(
            f"policy statement has unsupported keys {unknown}; allowed: {sorted(known)}"
        )
    principals = [
        DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=_as_list(identifiers))
        for kind, identifiers in sorted(statement.get("Principal", {}).items())
    ]
    conditions = [
        DataAwsIamPolicyDocumentStatementCondition(
            test=test, variable=variable, values=_as_list(values)
        )
        for test, variables in sorted(statement.get("Condition", {}).items())
        for variable, values in sorted(variables.items())
    ]
    return DataAwsIamPolicyDocumentStatement(
        sid=statement.get("Sid"),
        effect=statement.get("Effect", "Allow"),
        actions=_as_list(statement["Action"]) if "Action" in statement else None,
        not_actions=_as_list(statement["NotAction"]) if "NotAction" in statement else None,
        resources=_as_list(statement["Resource"]) if "Resource" in statement else None,
        principals=principals or None,
        condition=conditions or None,
    )


@dataclass(frozen=True)
class LambdaLayerProps:
    """The shared dependencies layer, created once per stack."""

    naming: Naming
    package: Package


class LambdaLayer(Construct):
    """The dependencies layer (``python/`` on the function's path) from its deterministic zip."""

    def __init__(self, scope: Construct, id_: str, props: LambdaLayerProps) -> None:
        super().__init__(scope, id_)

        asset = TerraformAsset(self, "Zip", path=str(props.package.path), type=AssetType.FILE)
        self.layer = LambdaLayerVersion(
            self,
            "Version",
            layer_name=props.naming.name("lambda-dependencies"),
            description="Runtime dependencies of the platform functions (lambdas/requirements.txt)",
            filename=asset.path,
            source_code_hash=props.package.source_code_hash,
            compatible_runtimes=[TARGET_RUNTIME],
            compatible_architectures=[TARGET_ARCHITECTURE],
        )

    @property
    def arn(self) -> str:
        """The ARN of this version of the layer, as functions list it."""
        return self.layer.arn


# One failed invocation, one throttled one or one event given up on is worth a look: the
# functions run rarely (a rollout, a daily job, an onboarding), so any is not noise.
FUNCTION_ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec(
        "errors",
        "AWS/Lambda",
        "Errors",
        "function",
        "Sum",
        1,
        evaluation_periods=1,
        description="Invocations failed",
    ),
    AlarmSpec(
        "throttles",
        "AWS/Lambda",
        "Throttles",
        "function",
        "Sum",
        1,
        evaluation_periods=1,
        description="Invocations throttled (reserved concurrency reached)",
    ),
    AlarmSpec(
        "dead-letters",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "queue",
        "Maximum",
        1,
        evaluation_periods=1,
        description="Asynchronous events given up on wait in the dead-letter queue",
    ),
)


@dataclass(frozen=True)
class LambdaFunctionProps:
    """Everything one function needs; physical names come from ``naming``.

    ``policy_statements`` are added to what every function gets (its log group, its VPC
    interfaces, traces, its dead-letter queue and its key): build them with ``policies.iam``.
    """

    naming: Naming
    function: str
    package: Package
    layer_arns: tuple[str, ...]
    account_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    kms_key_arn: str
    metrics_namespace: str
    alarm_topic_arn: str
    policy_statements: tuple[Statement, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    log_level: str = "INFO"
    timeout_seconds: int = 30
    memory_mb: int = 256
    reserved_concurrency: int = 5
    log_retention_days: int = 30
    dead_letter_retention_seconds: int = 1_209_600

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise ValueError(f"function {self.function!r} is unknown; allowed: {FUNCTIONS}")
        if not _ACCOUNT_ID.match(self.account_id):
            raise ValueError(f"account_id {self.account_id!r} must be 12 digits")
        for name, values in (
            ("subnet_ids", self.subnet_ids),
            ("security_group_ids", self.security_group_ids),
            ("layer_arns", self.layer_arns),
        ):
            if not values:
                raise ValueError(f"{name} must hold at least one value, got {values!r}")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log_level {self.log_level!r} is not one of {LOG_LEVELS}")
        if not 1 <= self.timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise ValueError(
                f"timeout_seconds {self.timeout_seconds} must lie in 1..{MAX_TIMEOUT_SECONDS}"
            )
        low, high = MEMORY_MB_RANGE
        if not low <= self.memory_mb <= high:
            raise ValueError(f"memory_mb {self.memory_mb} must lie in {low}..{high}")
        if self.reserved_concurrency < 1:
            raise ValueError(
                f"reserved_concurrency {self.reserved_concurrency} must be >= 1 (0 stops the "
                "function from running at all)"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days {self.log_retention_days} is not one of {LOG_RETENTION_DAYS}"
            )
        low, high = SQS_RETENTION_SECONDS_RANGE
        if not low <= self.dead_letter_retention_seconds <= high:
            raise ValueError(
                f"dead_letter_retention_seconds {self.dead_letter_retention_seconds} must lie "
                f"in {low}..{high}"
            )
        for key in self.environment:
            if not _VARIABLE_NAME.match(key) or key in RESERVED_VARIABLES:
                raise ValueError(
                    f"environment variable {key!r} is not allowed: names are letters, digits "
                    f"and '_', and these are set by the construct or the runtime: "
                    f"{sorted(RESERVED_VARIABLES)}"
                )

    @property
    def service_name(self) -> str:
        return self.function.replace("_", "-")

    @property
    def handler(self) -> str:
        return f"lambdas.{self.function}.handler.handler"


class LambdaFunction(Construct):
    """One function with its role, log group, dead-letter queue, VPC placement and tracing."""

    def __init__(self, scope: Construct, id_: str, props: LambdaFunctionProps) -> None:
        super().__init__(scope, id_)
        function_name = props.naming.name(props.service_name)

        self.log_group = CloudwatchLogGroup(
            self,
            "LogGroup",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        queue_name = props.naming.name(props.service_name, "dlq")
        self.dead_letter_queue = SqsQueue(
            self,
            "DeadLetterQueue",
            name=queue_name,
            message_retention_seconds=props.dead_letter_retention_seconds,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
        )

        trust = policy_document(self, "TrustPolicy", [lambda_trust_statement(props.account_id)])
        self.role = IamRole(
            self,
            "Role",
            name=props.naming.name(props.service_name, "role"),
            assume_role_policy=trust.json,
        )
        statements = [
            *lambda_function_statements(
                self.log_group.arn, self.dead_letter_queue.arn, props.kms_key_arn
            ),
            *props.policy_statements,
        ]
        permissions = policy_document(self, "PermissionsPolicy", statements)
        role_policy = IamRolePolicy(
            self, "Permissions", name="least-privilege", role=self.role.id, policy=permissions.json
        )

        code = TerraformAsset(self, "Code", path=str(props.package.path), type=AssetType.FILE)
        variables = {
            **props.environment,
            "POWERTOOLS_SERVICE_NAME": props.service_name,
            "POWERTOOLS_LOG_LEVEL": props.log_level,
            "POWERTOOLS_METRICS_NAMESPACE": props.metrics_namespace,
        }
        # Lambda checks at creation that the role may create network interfaces ("The provided
        # execution role does not have permissions to call CreateNetworkInterface on EC2"), and
        # would create its own log group without retention or key if the function came first.
        self.function = LambdaFunctionResource(
            self,
            "Function",
            function_name=function_name,
            description=props.description or None,
            role=self.role.arn,
            handler=props.handler,
            runtime=TARGET_RUNTIME,
            architectures=[TARGET_ARCHITECTURE],
            filename=code.path,
            source_code_hash=props.package.source_code_hash,
            layers=list(props.layer_arns),
            memory_size=props.memory_mb,
            timeout=props.timeout_seconds,
            reserved_concurrent_executions=props.reserved_concurrency,
            kms_key_arn=props.kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=dict(sorted(variables.items()))),
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=list(props.subnet_ids),
                security_group_ids=list(props.security_group_ids),
            ),
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            dead_letter_config=LambdaFunctionDeadLetterConfig(
                target_arn=self.dead_letter_queue.arn
            ),
            depends_on=[self.log_group, role_policy],
        )
        # The names are known here, so the alarms cost no reads of the resources' attributes.
        self.alarms = create_alarms(
            self,
            function_name,
            FUNCTION_ALARMS,
            {"function": {"FunctionName": function_name}, "queue": {"QueueName": queue_name}},
            props.alarm_topic_arn,
        )

    @property
    def arn(self) -> str:
        return self.function.arn

    @property
    def invoke_arn(self) -> str:
        return self.function.invoke_arn

    @property
    def function_name(self) -> str:
        return self.function.function_name
