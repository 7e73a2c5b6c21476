"""The platform core: core database, runtime-role secrets, identity, the three functions,
the control-plane API and the daily usage schedule."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from environments.config import APP_NAMES, AlarmThresholds, EnvironmentConfig
from modules.control_plane_api import ControlPlaneApi, ControlPlaneApiProps
from modules.database import POSTGRES_PORT, PostgresDatabase, PostgresDatabaseProps
from modules.identity import Identity
from modules.lambda_function import (
    LambdaFunction,
    LambdaFunctionProps,
    LambdaLayer,
    LambdaLayerProps,
)
from modules.naming import Naming
from policies import iam, lambda_permissions
from scripts.package_lambdas import Packages

CORE = "core"
METRICS_NAMESPACE = "TenantPlatform"
# 00:30 UTC: ALB delivers a five-minute file within about five minutes of its end, and the
# job reads the next day's files that end up to USAGE_NEXT_DAY_MINUTES (15) after midnight.
USAGE_SCHEDULE = "cron(30 0 * * ? *)"


@dataclass(frozen=True)
class PlatformCoreProps:
    config: EnvironmentConfig
    naming: Naming
    packages: Packages
    vpc_id: str
    app_subnet_ids: list[str]
    lambda_security_group_id: str
    db_subnet_group_name: str
    data_kms_key_arn: str
    logs_kms_key_arn: str
    storage_kms_key_arn: str
    alarm_topic_arn: str
    app_databases: dict[str, DbInstance]
    document_bucket_name: str
    document_bucket_arn: str
    log_bucket_name: str
    log_bucket_arn: str
    web_acl_arn: str
    identity: Identity


class PlatformCore(Construct):
    def __init__(self, scope: Construct, id_: str, props: PlatformCoreProps) -> None:
        super().__init__(scope, id_)
        config, naming = props.config, props.naming

        self.database = PostgresDatabase(
            self,
            "Database",
            PostgresDatabaseProps(
                config=config,
                naming=naming,
                database=CORE,
                vpc_id=props.vpc_id,
                subnet_group_name=props.db_subnet_group_name,
                client_security_group_ids={"lambdas": props.lambda_security_group_id},
                kms_key_arn=props.data_kms_key_arn,
                instance_class=config.database.core_instance_class,
                allocated_storage_gb=config.database.core_allocated_storage_gb,
                max_allocated_storage_gb=config.database.core_allocated_storage_gb * 5,
                alarm_topic_arn=props.alarm_topic_arn,
                alarms=AlarmThresholds(),
            ),
        )
        databases = {CORE: self.database.instance, **props.app_databases}
        self.identity = props.identity
        secret_arns = self._runtime_secrets(props, list(databases))

        layer = LambdaLayer(
            self, "Dependencies", LambdaLayerProps(naming=naming, package=props.packages.layer)
        )
        connections = database_locations(databases)
        owner_secrets = {
            db: instance.master_user_secret.get(0).secret_arn for db, instance in databases.items()
        }
        event_bus_arn = (
            f"arn:{config.partition}:events:{config.region}:{config.account_id}:event-bus/default"
        )

        self.rls_rollout = self._function(
            props,
            layer,
            "rls_rollout",
            {
                **connections,
                **{f"{db.upper()}_DB_SECRET_ARN": arn for db, arn in owner_secrets.items()},
                **{
                    f"{db.upper()}_DB_{access.upper()}_SECRET_ARN": arn
                    for (db, access), arn in secret_arns.items()
                },
            },
            lambda_permissions.rls_rollout(
                list(owner_secrets.values()),
                list(secret_arns.values()),
                props.data_kms_key_arn,
            ),
            timeout_seconds=300,
            reserved_concurrency=1,
        )
        self.tenant_onboarding = self._function(
            props,
            layer,
            "tenant_onboarding",
            {
                **connections,
                "CORE_DB_APP_SECRET_ARN": secret_arns[CORE, "app"],
                **{
                    f"{app.upper()}_DB_APP_SECRET_ARN": secret_arns[app, "app"] for app in APP_NAMES
                },
                "USER_POOL_ID": self.identity.user_pool.id,
                "DOCUMENT_BUCKET": props.document_bucket_name,
                "EVENT_BUS_NAME": "default",
            },
            lambda_permissions.tenant_onboarding(
                secret_arns=[secret_arns[db, "app"] for db in databases],
                data_key_arn=props.data_kms_key_arn,
                storage_key_arn=props.storage_kms_key_arn,
                user_pool_arn=self.identity.user_pool.arn,
                document_bucket_arn=props.document_bucket_arn,
                sso_secret_arn_pattern=(
                    f"arn:{config.partition}:secretsmanager:{config.region}:"
                    f"{config.account_id}:secret:tenant-sso/*"
                ),
                event_bus_arn=event_bus_arn,
            ),
            timeout_seconds=60,
            reserved_concurrency=10,
        )
        self.usage_aggregation = self._function(
            props,
            layer,
            "usage_aggregation",
            {
                **connections,
                "CORE_DB_APP_SECRET_ARN": secret_arns[CORE, "app"],
                **{
                    f"{app.upper()}_DB_USAGE_SECRET_ARN": secret_arns[app, "usage"]
                    for app in APP_NAMES
                },
                "PLATFORM_DOMAIN": config.domain_name,
                "LOG_BUCKET": props.log_bucket_name,
                "DOCUMENT_BUCKET": props.document_bucket_name,
                "ALB_LOG_ACCOUNT_ID": config.account_id,
                "ALB_LOG_REGION": config.region,
                "EVENT_BUS_NAME": "default",
            },
            lambda_permissions.usage_aggregation(
                secret_arns=[
                    secret_arns[CORE, "app"],
                    *(secret_arns[a, "usage"] for a in APP_NAMES),
                ],
                data_key_arn=props.data_kms_key_arn,
                storage_key_arn=props.storage_kms_key_arn,
                log_bucket_arn=props.log_bucket_arn,
                document_bucket_arn=props.document_bucket_arn,
                metrics_namespace=METRICS_NAMESPACE,
                event_bus_arn=event_bus_arn,
            ),
            timeout_seconds=900,
            memory_mb=1024,
            reserved_concurrency=1,
        )

        self.api = ControlPlaneApi(
            self,
            "Api",
            ControlPlaneApiProps(
                config=config,
                naming=naming,
                function_name=self.tenant_onboarding.function_name,
                function_invoke_arn=self.tenant_onboarding.invoke_arn,
                web_acl_arn=props.web_acl_arn,
                logs_kms_key_arn=props.logs_kms_key_arn,
            ),
        )
        self._schedule(naming)

    def _function(
        self,
        props: PlatformCoreProps,
        layer: LambdaLayer,
        name: str,
        environment: dict[str, str],
        statements: list[iam.Statement],
        *,
        timeout_seconds: int,
        reserved_concurrency: int,
        memory_mb: int = 256,
    ) -> LambdaFunction:
        return LambdaFunction(
            self,
            "".join(p.title() for p in name.split("_")),
            LambdaFunctionProps(
                naming=props.naming,
                function=name,
                package=props.packages.functions[name],
                layer_arns=(layer.arn,),
                account_id=props.config.account_id,
                subnet_ids=tuple(props.app_subnet_ids),
                security_group_ids=(props.lambda_security_group_id,),
                kms_key_arn=props.logs_kms_key_arn,
                metrics_namespace=METRICS_NAMESPACE,
                alarm_topic_arn=props.alarm_topic_arn,
                policy_statements=tuple(statements),
                environment=environment,
                timeout_seconds=timeout_seconds,
                memory_mb=memory_mb,
                reserved_concurrency=reserved_concurrency,
                log_retention_days=props.config.log_retention_days,
            ),
        )

    def _runtime_secrets(
        self, props: PlatformCoreProps, databases: list[str]
    ) -> dict[tuple[str, str], str]:
        """The ARNs of the containers for the runtime and usage-reader credentials of each
        database (read once: each read is a jsii round trip); the owner's credentials are the
        RDS-managed master secret."""
        secret_arns = {}
        for db in databases:
            for access in ("app",) if db == CORE else ("app", "usage"):
                secret_arns[db, access] = SecretsmanagerSecret(
                    self,
                    f"{db.title()}{access.title()}Secret",
                    name=f"{props.naming.base}/db/{db}/{access}",
                    description=f"{access} role credentials of the {db} database",
                    kms_key_id=props.data_kms_key_arn,
                    recovery_window_in_days=7,
                ).arn
        return secret_arns

    def _schedule(self, naming: Naming) -> None:
        rule = CloudwatchEventRule(
            self,
            "DailyUsage",
            name=naming.name("daily-usage"),
            description="Aggregate the previous UTC day's usage",
            schedule_expression=USAGE_SCHEDULE,
        )
        CloudwatchEventTarget(
            self,
            "DailyUsageTarget",
            rule=rule.name,
            arn=self.usage_aggregation.arn,
            target_id="usage-aggregation",
        )
        LambdaPermission(
            self,
            "DailyUsageInvoke",
            action="lambda:InvokeFunction",
            function_name=self.usage_aggregation.function_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
        )


def database_locations(databases: dict[str, DbInstance]) -> dict[str, str]:
    """`<DB>_DB_HOST`, `_PORT`, `_NAME` of each database, for credentials read from secrets."""
    variables = {}
    for db, instance in databases.items():
        variables[f"{db.upper()}_DB_HOST"] = instance.address
        variables[f"{db.upper()}_DB_PORT"] = str(POSTGRES_PORT)
        variables[f"{db.upper()}_DB_NAME"] = db
    return variables
