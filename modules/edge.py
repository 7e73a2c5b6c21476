"""The public edge: DNS zone, certificate, Application Load Balancer, listeners and WAF."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionFixedResponse,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
)
from constructs import Construct

from environments.config import EnvironmentConfig
from modules.log_bucket import ALB_LOG_PREFIX
from modules.log_groups import encrypted_log_group
from modules.naming import Naming
from policies.waf_rules import WafRule, web_acl_rules

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 only


@dataclass(frozen=True)
class EdgeProps:
    config: EnvironmentConfig
    naming: Naming
    vpc_id: str
    public_subnet_ids: list[str]
    log_bucket_name: str
    logs_kms_key_arn: str


class Edge(Construct):
    """Clients reach `<tenant>.<domain>` through Route 53, the WAF and one ALB.

    The HTTPS listener answers 404 to anything no app rule claims; plain HTTP only redirects.
    """

    def __init__(self, scope: Construct, id_: str, props: EdgeProps) -> None:
        super().__init__(scope, id_)
        config, naming = props.config, props.naming
        domain = config.domain_name

        self.zone = Route53Zone(self, "Zone", name=domain)
        self.certificate = AcmCertificate(
            self,
            "Certificate",
            domain_name=domain,
            subject_alternative_names=[f"*.{domain}"],
            validation_method="DNS",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # The apex and its wildcard share one validation record; one record validates both.
        option = Fn.element(self.certificate.domain_validation_options, 0)
        validation_record = Route53Record(
            self,
            "CertificateValidation",
            zone_id=self.zone.zone_id,
            name=Fn.lookup(option, "resource_record_name"),
            type=Fn.lookup(option, "resource_record_type"),
            records=[Fn.lookup(option, "resource_record_value")],
            ttl=300,
            allow_overwrite=True,
        )
        validated = AcmCertificateValidation(
            self,
            "CertificateValidated",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
        )

        self.security_group = SecurityGroup(
            self,
            "AlbSecurityGroup",
            name=naming.name("alb"),
            description="Public HTTP and HTTPS to the platform load balancer",
            vpc_id=props.vpc_id,
        )
        for port in (80, 443):
            VpcSecurityGroupIngressRule(
                self,
                f"AlbIngress{port}",
                security_group_id=self.security_group.id,
                description=f"Clients on port {port}",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4="0.0.0.0/0",
            )
        VpcSecurityGroupEgressRule(
            self,
            "AlbEgress",
            security_group_id=self.security_group.id,
            description="To app instances inside the VPC",
            ip_protocol="tcp",
            from_port=8080,
            to_port=8080,
            cidr_ipv4=str(config.vpc_cidr),
        )

        self.alb = Lb(
            self,
            "Alb",
            name=naming.alb(),
            load_balancer_type="application",
            internal=False,
            security_groups=[self.security_group.id],
            subnets=props.public_subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=config.alb_deletion_protection,
            access_logs=LbAccessLogs(
                bucket=props.log_bucket_name, prefix=ALB_LOG_PREFIX or None, enabled=True
            ),
        )
        LbListener(
            self,
            "HttpListener",
            load_balancer_arn=self.alb.arn,
            port=80,
            protocol="HTTP",
            default_action=[
                LbListenerDefaultAction(
                    type="redirect",
                    redirect=LbListenerDefaultActionRedirect(
                        port="443", protocol="HTTPS", status_code="HTTP_301"
                    ),
                )
            ],
        )
        self.https_listener = LbListener(
            self,
            "HttpsListener",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=validated.certificate_arn,
            default_action=[
                LbListenerDefaultAction(
                    type="fixed-response",
                    fixed_response=LbListenerDefaultActionFixedResponse(
                        content_type="application/json",
                        message_body='{"message":"Not Found"}',
                        status_code="404",
                    ),
                )
            ],
        )

        for record_id, name in (("ApexAlias", domain), ("WildcardAlias", f"*.{domain}")):
            Route53Record(
                self,
                record_id,
                zone_id=self.zone.zone_id,
                name=name,
                type="A",
                alias=Route53RecordAlias(
                    name=self.alb.dns_name, zone_id=self.alb.zone_id, evaluate_target_health=True
                ),
            )

        self._waf(props)

    def _waf(self, props: EdgeProps) -> None:
        naming = props.naming
        self.web_acl = Wafv2WebAcl(
            self,
            "WebAcl",
            name=naming.name("edge"),
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow={}),
            rule=[_rule(rule) for rule in web_acl_rules(props.config.waf_rate_limit_per_5_minutes)],
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                sampled_requests_enabled=True,
                metric_name=naming.name("edge"),
            ),
        )
        Wafv2WebAclAssociation(
            self, "WebAclAlb", resource_arn=self.alb.arn, web_acl_arn=self.web_acl.arn
        )
        # WAF accepts only log groups whose name starts with "aws-waf-logs-".
        log_group = encrypted_log_group(
            self, "WafLogGroup", f"aws-waf-logs-{naming.base}", props.config, props.logs_kms_key_arn
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[log_group.arn],
        )


def _rule(rule: WafRule) -> Wafv2WebAclRule:
    return Wafv2WebAclRule(
        name=rule.name,
        priority=rule.priority,
        statement=rule.statement,
        action=Wafv2WebAclRuleAction(block={}) if rule.block else None,
        override_action=None if rule.block else Wafv2WebAclRuleOverrideAction(none={}),
        visibility_config=Wafv2WebAclRuleVisibilityConfig(
            cloudwatch_metrics_enabled=True,
            sampled_requests_enabled=True,
            metric_name=rule.metric_name,
        ),
    )
