"""One stack per environment: `platform-<env>`, everything in it, no cross-stack state."""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from environments.config import APP_NAMES, EnvironmentConfig
from environments.settings import PlatformSettings
from modules.alarm_topic import AlarmTopic, AlarmTopicProps
from modules.aws_provider import configure_backend, configure_provider
from modules.business_app import BusinessApp, BusinessAppProps
from modules.edge import Edge, EdgeProps
from modules.kms import KeysProps, PlatformKeys
from modules.log_bucket import LogBucket, LogBucketProps
from modules.naming import Naming
from modules.network import Network, NetworkProps


class PlatformStack(TerraformStack):
    def __init__(
        self, scope: Construct, config: EnvironmentConfig, settings: PlatformSettings
    ) -> None:
        super().__init__(scope, config.stack_id)
        naming = Naming.for_environment(config)
        configure_provider(self, config, settings)
        configure_backend(self, config, settings)

        keys = PlatformKeys(self, "Keys", KeysProps(config=config, naming=naming))
        logs = LogBucket(self, "LogBucket", LogBucketProps(config=config, naming=naming))
        alarms = AlarmTopic(
            self,
            "Alarms",
            AlarmTopicProps(naming=naming, kms_key_arn=keys.data.arn, email=config.alarm_email),
        )
        network = Network(
            self,
            "Network",
            NetworkProps(config=config, naming=naming, logs_kms_key_arn=keys.logs.arn),
        )
        edge = Edge(
            self,
            "Edge",
            EdgeProps(
                config=config,
                naming=naming,
                vpc_id=network.vpc.id,
                public_subnet_ids=[subnet.id for subnet in network.public_subnets],
                log_bucket_name=logs.bucket.bucket,
                logs_kms_key_arn=keys.logs.arn,
            ),
        )
        self.lambda_security_group = SecurityGroup(
            self,
            "LambdaSecurityGroup",
            name=naming.name("lambdas"),
            description="Platform Lambda functions: no ingress; HTTPS and PostgreSQL out",
            vpc_id=network.vpc.id,
        )
        for port in (443, 5432):
            VpcSecurityGroupEgressRule(
                self,
                f"LambdaEgress{port}",
                security_group_id=self.lambda_security_group.id,
                description=f"Lambda to port {port}",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4="0.0.0.0/0" if port == 443 else str(config.vpc_cidr),
            )

        self.apps = {
            app: BusinessApp(
                self,
                f"App{app.title()}",
                BusinessAppProps(
                    config=config,
                    naming=naming,
                    app=app,
                    vpc_id=network.vpc.id,
                    app_subnet_ids=[subnet.id for subnet in network.app_subnets],
                    alb_security_group_id=edge.security_group.id,
                    alb_arn_suffix=edge.alb.arn_suffix,
                    https_listener_arn=edge.https_listener.arn,
                    lambda_security_group_id=self.lambda_security_group.id,
                    db_subnet_group_name=network.db_subnet_group.name,
                    kms_key_arn=keys.data.arn,
                    logs_kms_key_arn=keys.logs.arn,
                    alarm_topic_arn=alarms.topic.arn,
                ),
            )
            for app in APP_NAMES
        }

        TerraformOutput(self, "alb_dns_name", value=edge.alb.dns_name)
        TerraformOutput(self, "zone_name_servers", value=edge.zone.name_servers)
        TerraformOutput(self, "log_bucket", value=logs.bucket.bucket)
