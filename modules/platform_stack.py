"""One stack per environment: `platform-<env>`, everything in it, no cross-stack state."""

from __future__ import annotations

from cdktf import Fn, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from environments.config import APP_NAMES, EnvironmentConfig
from environments.settings import PlatformSettings
from modules.alarm_topic import AlarmTopic, AlarmTopicProps
from modules.aws_provider import configure_backend, configure_provider
from modules.business_app import BusinessApp, BusinessAppProps
from modules.cache import Cache, CacheProps
from modules.dashboard_bodies import platform_dashboard
from modules.document_bucket import DocumentBucket, DocumentBucketProps
from modules.edge import Edge, EdgeProps
from modules.identity import Identity, IdentityProps
from modules.kms import KeysProps, PlatformKeys
from modules.log_bucket import LogBucket, LogBucketProps
from modules.naming import Naming
from modules.network import Network, NetworkProps
from modules.platform_core import METRICS_NAMESPACE, PlatformCore, PlatformCoreProps
from scripts.package_lambdas import Packages


class PlatformStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        config: EnvironmentConfig,
        settings: PlatformSettings,
        packages: Packages,
    ) -> None:
        super().__init__(scope, config.stack_id)
        naming = Naming.for_environment(config)
        configure_provider(self, config, settings)
        configure_backend(self, config, settings)

        keys = PlatformKeys(self, "Keys", KeysProps(config=config, naming=naming))
        # Every attribute read is a round trip to the jsii kernel (about 1 ms): references that
        # several constructs take are read once, which keeps synth close to its floor (the
        # provider import; see README, Performance).
        data_key_arn, logs_key_arn, storage_key_arn = keys.data.arn, keys.logs.arn, keys.storage.arn
        logs = LogBucket(self, "LogBucket", LogBucketProps(config=config, naming=naming))
        log_bucket_name = logs.name
        documents = DocumentBucket(
            self,
            "DocumentBucket",
            DocumentBucketProps(
                naming=naming,
                kms_key_arn=storage_key_arn,
                access_log_bucket=log_bucket_name,
                force_destroy=config.name == "dev",
            ),
        )
        alarms = AlarmTopic(
            self,
            "Alarms",
            AlarmTopicProps(naming=naming, kms_key_arn=data_key_arn, email=config.alarm_email),
        )

        network = Network(
            self,
            "Network",
            NetworkProps(config=config, naming=naming, logs_kms_key_arn=logs_key_arn),
        )
        app_subnet_ids = [subnet.id for subnet in network.app_subnets]
        vpc_id = network.vpc_id
        db_subnet_group_name = network.db_subnet_group.name
        edge = Edge(
            self,
            "Edge",
            EdgeProps(
                config=config,
                naming=naming,
                vpc_id=vpc_id,
                public_subnet_ids=[subnet.id for subnet in network.public_subnets],
                log_bucket_name=log_bucket_name,
                logs_kms_key_arn=logs_key_arn,
            ),
        )
        lambdas = self._lambda_security_group(config, naming, vpc_id)
        identity = Identity(self, "Identity", IdentityProps(config=config, naming=naming))
        authentication = (
            identity.alb_authentication() if config.cognito.authenticate_alb_rules else None
        )

        alb_security_group_id, lambda_security_group_id = edge.security_group.id, lambdas.id
        alb_arn_suffix, https_listener_arn = edge.alb.arn_suffix, edge.https_listener.arn
        alarm_topic_arn, document_bucket_arn = alarms.topic.arn, documents.arn
        document_bucket_name = documents.name
        self.apps = {
            app: BusinessApp(
                self,
                f"App{app.title()}",
                BusinessAppProps(
                    config=config,
                    naming=naming,
                    app=app,
                    vpc_id=vpc_id,
                    app_subnet_ids=app_subnet_ids,
                    alb_security_group_id=alb_security_group_id,
                    alb_arn_suffix=alb_arn_suffix,
                    https_listener_arn=https_listener_arn,
                    lambda_security_group_id=lambda_security_group_id,
                    db_subnet_group_name=db_subnet_group_name,
                    kms_key_arn=data_key_arn,
                    logs_kms_key_arn=logs_key_arn,
                    alarm_topic_arn=alarm_topic_arn,
                    document_bucket_arn=document_bucket_arn,
                    storage_kms_key_arn=storage_key_arn,
                    authentication=authentication,
                ),
            )
            for app in APP_NAMES
        }
        Cache(
            self,
            "Cache",
            CacheProps(
                config=config,
                naming=naming,
                vpc_id=vpc_id,
                subnet_group_name=network.cache_subnet_group.name,
                client_security_group_ids={
                    "lambdas": lambda_security_group_id,
                    **{app: self.apps[app].security_group_id for app in APP_NAMES},
                },
                kms_key_arn=data_key_arn,
                logs_kms_key_arn=logs_key_arn,
            ),
        )
        core = PlatformCore(
            self,
            "Core",
            PlatformCoreProps(
                config=config,
                naming=naming,
                packages=packages,
                vpc_id=vpc_id,
                app_subnet_ids=app_subnet_ids,
                lambda_security_group_id=lambda_security_group_id,
                db_subnet_group_name=db_subnet_group_name,
                data_kms_key_arn=data_key_arn,
                logs_kms_key_arn=logs_key_arn,
                storage_kms_key_arn=storage_key_arn,
                alarm_topic_arn=alarm_topic_arn,
                app_databases={app: self.apps[app].database.instance for app in APP_NAMES},
                document_bucket_name=document_bucket_name,
                document_bucket_arn=document_bucket_arn,
                log_bucket_name=log_bucket_name,
                log_bucket_arn=logs.arn,
                web_acl_arn=edge.web_acl.arn,
                identity=identity,
            ),
        )
        CloudwatchDashboard(
            self,
            "PlatformDashboard",
            dashboard_name=naming.name("platform"),
            dashboard_body=Fn.jsonencode(
                platform_dashboard(
                    config.region, alb_arn_suffix, list(APP_NAMES), METRICS_NAMESPACE
                )
            ),
        )

        TerraformOutput(self, "alb_dns_name", value=edge.alb.dns_name)
        TerraformOutput(self, "zone_name_servers", value=edge.zone.name_servers)
        TerraformOutput(self, "log_bucket", value=log_bucket_name)
        TerraformOutput(self, "document_bucket", value=document_bucket_name)
        TerraformOutput(self, "control_plane_url", value=core.api.url)
        TerraformOutput(self, "user_pool_id", value=identity.user_pool.id)

    def _lambda_security_group(
        self, config: EnvironmentConfig, naming: Naming, vpc_id: str
    ) -> SecurityGroup:
        group = SecurityGroup(
            self,
            "LambdaSecurityGroup",
            name=naming.name("lambdas"),
            description="Platform Lambda functions: no ingress; HTTPS and PostgreSQL out",
            vpc_id=vpc_id,
        )
        for port in (443, 5432):
            VpcSecurityGroupEgressRule(
                self,
                f"LambdaEgress{port}",
                security_group_id=group.id,
                description=f"Lambda to port {port}",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4="0.0.0.0/0" if port == 443 else str(config.vpc_cidr),
            )
        return group
