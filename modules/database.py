"""A hardened RDS PostgreSQL instance: one per business app, and the platform core's."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from environments.config import AlarmThresholds, EnvironmentConfig
from modules.alarms import create_alarms
from modules.dashboard_bodies import AlarmSpec
from modules.naming import Naming
from modules.security_groups import group_for_clients
from policies import infra_iam

POSTGRES_PORT = 5432
MONITORING_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class PostgresDatabaseProps:
    config: EnvironmentConfig
    naming: Naming
    database: str
    vpc_id: str
    subnet_group_name: str
    client_security_group_ids: dict[str, str]
    kms_key_arn: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    alarm_topic_arn: str
    alarms: AlarmThresholds


def database_alarm_specs(thresholds: AlarmThresholds) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            "db-cpu",
            "AWS/RDS",
            "CPUUtilization",
            "db",
            "Average",
            thresholds.db_cpu_percent,
            description="Database CPU high",
        ),
        AlarmSpec(
            "db-free-storage",
            "AWS/RDS",
            "FreeStorageSpace",
            "db",
            "Minimum",
            thresholds.db_free_storage_mb * 1024 * 1024,
            comparison="LessThanOrEqualToThreshold",
            description="Database storage low",
        ),
        AlarmSpec(
            "db-connections",
            "AWS/RDS",
            "DatabaseConnections",
            "db",
            "Maximum",
            thresholds.db_connections,
            description="Database connections high",
        ),
    ]


class PostgresDatabase(Construct):
    """Encrypted with the data key, TLS forced, password managed by RDS in Secrets Manager,
    reachable only from the security groups named in `client_security_group_ids`."""

    def __init__(self, scope: Construct, id_: str, props: PostgresDatabaseProps) -> None:
        super().__init__(scope, id_)
        config, naming, policy = props.config, props.naming, props.config.database
        identifier = naming.db_identifier(props.database)

        self.security_group = group_for_clients(
            self,
            name=naming.name(props.database, "db"),
            service="PostgreSQL",
            vpc_id=props.vpc_id,
            port=POSTGRES_PORT,
            clients=props.client_security_group_ids,
        )

        parameters = DbParameterGroup(
            self,
            "Parameters",
            name=naming.name(props.database, "pg16"),
            family="postgres16",
            parameter=[
                DbParameterGroupParameter(name="rds.force_ssl", value="1"),
                DbParameterGroupParameter(name="log_min_duration_statement", value="1000"),
                DbParameterGroupParameter(name="log_connections", value="1"),
                DbParameterGroupParameter(name="log_disconnections", value="1"),
            ],
        )
        monitoring_role = IamRole(
            self,
            "MonitoringRole",
            name=naming.name(props.database, "rds-monitoring"),
            assume_role_policy=Fn.jsonencode(
                infra_iam.service_trust("monitoring.rds.amazonaws.com", config.account_id)
            ),
        )
        IamRolePolicyAttachment(
            self,
            "MonitoringPolicy",
            role=monitoring_role.name,
            policy_arn=f"arn:{config.partition}:iam::aws:policy/service-role/"
            "AmazonRDSEnhancedMonitoringRole",
        )

        self.instance = DbInstance(
            self,
            "Instance",
            identifier=identifier,
            engine="postgres",
            engine_version=policy.engine_version,
            instance_class=props.instance_class,
            allocated_storage=props.allocated_storage_gb,
            max_allocated_storage=props.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=props.kms_key_arn,
            db_name=props.database,
            username=f"{props.database}_admin",
            manage_master_user_password=True,
            master_user_secret_kms_key_id=props.kms_key_arn,
            db_subnet_group_name=props.subnet_group_name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=policy.multi_az,
            deletion_protection=policy.deletion_protection,
            skip_final_snapshot=not policy.final_snapshot,
            final_snapshot_identifier=f"{identifier}-final" if policy.final_snapshot else None,
            backup_retention_period=policy.backup_retention_days,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=props.kms_key_arn,
            performance_insights_retention_period=policy.performance_insights_retention_days,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            monitoring_interval=MONITORING_INTERVAL_SECONDS,
            monitoring_role_arn=monitoring_role.arn,
        )
        create_alarms(
            self,
            naming.name(props.database),
            database_alarm_specs(props.alarms),
            {"db": {"DBInstanceIdentifier": self.instance.identifier}},
            props.alarm_topic_arn,
        )
