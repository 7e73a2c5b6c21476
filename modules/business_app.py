"""One business application behind the shared ALB: `/<app>/*` to its own fleet and database."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_aws.autoscaling_group import (
    AutoscalingGroup,
    AutoscalingGroupInstanceRefresh,
    AutoscalingGroupInstanceRefreshPreferences,
    AutoscalingGroupLaunchTemplate,
    AutoscalingGroupTag,
)
from cdktf_cdktf_provider_aws.autoscaling_policy import (
    AutoscalingPolicy,
    AutoscalingPolicyTargetTrackingConfiguration,
    AutoscalingPolicyTargetTrackingConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateIamInstanceProfile,
    LaunchTemplateMetadataOptions,
    LaunchTemplateMonitoring,
    LaunchTemplateTagSpecifications,
)
from cdktf_cdktf_provider_aws.lb_listener_rule import (
    LbListenerRule,
    LbListenerRuleAction,
    LbListenerRuleActionAuthenticateCognito,
    LbListenerRuleCondition,
    LbListenerRuleConditionPathPattern,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from environments.config import AppConfig, EnvironmentConfig
from modules.alarms import create_alarms
from modules.dashboard_bodies import AlarmSpec, app_dashboard
from modules.database import POSTGRES_PORT, PostgresDatabase, PostgresDatabaseProps
from modules.log_groups import encrypted_log_group
from modules.naming import Naming
from policies import infra_iam, s3_policies

APP_PORT = 8080
# Amazon Linux 2023, resolved by EC2 at launch from the public SSM parameter: no AMI lookup
# (and no AWS call) at plan time, and instance refresh picks up new images.
DEFAULT_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


@dataclass(frozen=True)
class CognitoAuthentication:
    """ALB authenticate-cognito action settings; None on an app means no authentication."""

    user_pool_arn: str
    user_pool_client_id: str
    user_pool_domain: str


@dataclass(frozen=True)
class BusinessAppProps:
    config: EnvironmentConfig
    naming: Naming
    app: str
    vpc_id: str
    app_subnet_ids: list[str]
    alb_security_group_id: str
    alb_arn_suffix: str
    https_listener_arn: str
    lambda_security_group_id: str
    db_subnet_group_name: str
    kms_key_arn: str
    logs_kms_key_arn: str
    alarm_topic_arn: str
    document_bucket_arn: str
    storage_kms_key_arn: str
    authentication: CognitoAuthentication | None = None
    ami_ssm_parameter: str = DEFAULT_AMI_PARAMETER

    @property
    def sizing(self) -> AppConfig:
        return self.config.apps[self.app]


def instance_user_data(app: str) -> str:
    """Cloud-init that tells the app's service which app it is and where to listen; the
    service itself ships in the image named by `ami_ssm_parameter`."""
    script = (
        "#!/bin/bash\nset -euo pipefail\ninstall -d -m 0755 /etc/platform\n"
        f"printf 'APP=%s\\nPORT=%s\\n' {app} {APP_PORT} > /etc/platform/app.env\n"
        f"systemctl enable --now platform-app@{app}.service || true\n"
    )
    return base64.b64encode(script.encode()).decode()


def app_alarm_specs(app: AppConfig) -> list[AlarmSpec]:
    limits = app.alarms
    return [
        AlarmSpec(
            "target-5xx",
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            "tg",
            "Sum",
            limits.target_5xx_count,
            description="Targets answer 5xx",
        ),
        AlarmSpec(
            "unhealthy-hosts",
            "AWS/ApplicationELB",
            "UnHealthyHostCount",
            "tg",
            "Maximum",
            limits.unhealthy_hosts,
            description="Unhealthy targets",
        ),
        AlarmSpec(
            "latency-p95",
            "AWS/ApplicationELB",
            "TargetResponseTime",
            "tg",
            "p95",
            limits.latency_p95_seconds,
            description="p95 target response time high",
        ),
        AlarmSpec(
            "cpu",
            "AWS/EC2",
            "CPUUtilization",
            "asg",
            "Average",
            limits.cpu_percent,
            description="Instance CPU high",
        ),
    ]


class BusinessApp(Construct):
    """Security group, target group, listener rule, launch template, auto scaling group,
    database, alarms and a dashboard for one app. Instantiated once per app from config."""

    def __init__(self, scope: Construct, id_: str, props: BusinessAppProps) -> None:
        super().__init__(scope, id_)
        app, naming, sizing = props.app, props.naming, props.sizing

        self.security_group = SecurityGroup(
            self,
            "SecurityGroup",
            name=naming.name(app, "instances"),
            description=f"{app} instances: traffic from the load balancer only",
            vpc_id=props.vpc_id,
        )
        # References read once: each attribute read is a jsii round trip (see platform_stack).
        self.security_group_id = self.security_group.id
        VpcSecurityGroupIngressRule(
            self,
            "FromAlb",
            security_group_id=self.security_group_id,
            description="HTTP from the platform ALB",
            ip_protocol="tcp",
            from_port=APP_PORT,
            to_port=APP_PORT,
            referenced_security_group_id=props.alb_security_group_id,
        )
        VpcSecurityGroupEgressRule(
            self,
            "ToHttps",
            security_group_id=self.security_group_id,
            description="AWS APIs and package mirrors over NAT",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
        )
        VpcSecurityGroupEgressRule(
            self,
            "ToDatabase",
            security_group_id=self.security_group_id,
            description="PostgreSQL in the data subnets",
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            cidr_ipv4=str(props.config.vpc_cidr),
        )

        self.target_group = LbTargetGroup(
            self,
            "TargetGroup",
            name=naming.target_group(app),
            port=APP_PORT,
            protocol="HTTP",
            target_type="instance",
            vpc_id=props.vpc_id,
            deregistration_delay="30",
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                path=f"/{app}/health",
                matcher="200",
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
        )
        self.target_group_arn = self.target_group.arn
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.listener_rule = LbListenerRule(
            self,
            "ListenerRule",
            listener_arn=props.https_listener_arn,
            priority=sizing.listener_priority,
            condition=[
                LbListenerRuleCondition(
                    path_pattern=LbListenerRuleConditionPathPattern(values=[f"/{app}", f"/{app}/*"])
                )
            ],
            action=self._actions(props),
        )

        self._fleet(props)
        self.database = PostgresDatabase(
            self,
            "Database",
            PostgresDatabaseProps(
                config=props.config,
                naming=naming,
                database=app,
                vpc_id=props.vpc_id,
                subnet_group_name=props.db_subnet_group_name,
                client_security_group_ids={
                    "instances": self.security_group_id,
                    "lambdas": props.lambda_security_group_id,
                },
                kms_key_arn=props.kms_key_arn,
                instance_class=sizing.db_instance_class,
                allocated_storage_gb=sizing.db_allocated_storage_gb,
                max_allocated_storage_gb=sizing.db_max_allocated_storage_gb,
                alarm_topic_arn=props.alarm_topic_arn,
                alarms=sizing.alarms,
            ),
        )

        create_alarms(
            self,
            naming.name(app),
            app_alarm_specs(sizing),
            {
                "tg": {
                    "TargetGroup": self.target_group_arn_suffix,
                    "LoadBalancer": props.alb_arn_suffix,
                },
                "asg": {"AutoScalingGroupName": self.group_name},
            },
            props.alarm_topic_arn,
        )
        CloudwatchDashboard(
            self,
            "Dashboard",
            dashboard_name=naming.name(app),
            dashboard_body=Fn.jsonencode(
                app_dashboard(
                    app,
                    props.config.region,
                    props.alb_arn_suffix,
                    self.target_group_arn_suffix,
                    self.group_name,
                    self.database.instance.identifier,
                )
            ),
        )

    def _actions(self, props: BusinessAppProps) -> list[LbListenerRuleAction]:
        forward = LbListenerRuleAction(
            type="forward", target_group_arn=self.target_group_arn, order=2
        )
        auth = props.authentication
        if auth is None:
            return [forward]
        return [
            LbListenerRuleAction(
                type="authenticate-cognito",
                order=1,
                authenticate_cognito=LbListenerRuleActionAuthenticateCognito(
                    user_pool_arn=auth.user_pool_arn,
                    user_pool_client_id=auth.user_pool_client_id,
                    user_pool_domain=auth.user_pool_domain,
                    on_unauthenticated_request="authenticate",
                    session_timeout=28800,
                ),
            ),
            forward,
        ]

    def _fleet(self, props: BusinessAppProps) -> None:
        app, naming, sizing, config = props.app, props.naming, props.sizing, props.config

        log_group = encrypted_log_group(
            self, "LogGroup", naming.log_group("apps", app), props.config, props.logs_kms_key_arn
        )
        self.role = IamRole(
            self,
            "InstanceRole",
            name=naming.name(app, "instance"),
            assume_role_policy=Fn.jsonencode(infra_iam.service_trust("ec2.amazonaws.com")),
        )
        role_name = self.role.name
        IamRolePolicyAttachment(
            self,
            "SsmCore",
            role=role_name,
            policy_arn=f"arn:{config.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
        )
        IamRolePolicy(
            self,
            "InstancePolicy",
            role=self.role.id,
            policy=Fn.jsonencode(
                infra_iam.document(
                    *infra_iam.instance_role_statements(app, log_group.arn),
                    *s3_policies.app_document_statements(
                        props.document_bucket_arn, app, props.storage_kms_key_arn
                    ),
                )
            ),
        )
        profile = IamInstanceProfile(
            self, "InstanceProfile", name=naming.name(app, "instance"), role=role_name
        )

        template = LaunchTemplate(
            self,
            "LaunchTemplate",
            name=naming.name(app),
            image_id=f"resolve:ssm:{props.ami_ssm_parameter}",
            instance_type=sizing.instance_type,
            update_default_version=True,
            vpc_security_group_ids=[self.security_group_id],
            iam_instance_profile=LaunchTemplateIamInstanceProfile(arn=profile.arn),
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="enabled",
            ),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name="/dev/xvda",
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=20,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=props.kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            monitoring=LaunchTemplateMonitoring(enabled=True),
            user_data=instance_user_data(app),
            tag_specifications=[
                LaunchTemplateTagSpecifications(
                    resource_type="instance", tags={"Name": naming.name(app), "App": app}
                )
            ],
        )
        self.group = AutoscalingGroup(
            self,
            "Group",
            name=naming.name(app),
            min_size=sizing.min_size,
            max_size=sizing.max_size,
            desired_capacity=sizing.desired_capacity,
            vpc_zone_identifier=props.app_subnet_ids,
            target_group_arns=[self.target_group_arn],
            health_check_type="ELB",
            health_check_grace_period=sizing.health_check_grace_period_seconds,
            launch_template=AutoscalingGroupLaunchTemplate(id=template.id, version="$Latest"),
            instance_refresh=AutoscalingGroupInstanceRefresh(
                strategy="Rolling",
                preferences=AutoscalingGroupInstanceRefreshPreferences(
                    min_healthy_percentage=90, instance_warmup="120"
                ),
            ),
            enabled_metrics=["GroupInServiceInstances", "GroupDesiredCapacity"],
            tag=[AutoscalingGroupTag(key="App", value=app, propagate_at_launch=True)],
        )
        self.group_name = self.group.name
        AutoscalingPolicy(
            self,
            "CpuTracking",
            name=naming.name(app, "cpu"),
            autoscaling_group_name=self.group_name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=AutoscalingPolicyTargetTrackingConfiguration(
                target_value=sizing.cpu_target_percent,
                predefined_metric_specification=(
                    AutoscalingPolicyTargetTrackingConfigurationPredefinedMetricSpecification(
                        predefined_metric_type="ASGAverageCPUUtilization"
                    )
                ),
            ),
        )
