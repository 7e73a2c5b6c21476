"""The control-plane REST API: tenant routes proxied to the onboarding function, IAM-signed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import (
    ApiGatewayStage,
    ApiGatewayStageAccessLogSettings,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from constructs import Construct

from environments.config import EnvironmentConfig
from modules.log_groups import encrypted_log_group
from modules.naming import Naming
from policies import infra_iam

STAGE = "v1"
# (path under the API root, HTTP methods). Every method of both resources reaches the
# function, which routes GET/POST/PATCH/DELETE (README, Tenant API) and answers 405 with
# `Allow` to the rest; a method API Gateway did not know would get its own 403 instead.
ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tenants", ("ANY",)),
    ("tenants/{tenant}", ("ANY",)),
)
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "sourceIp": "$context.identity.sourceIp",
    "requestTime": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "wafResponse": "$context.wafResponseCode",
}


@dataclass(frozen=True)
class ControlPlaneApiProps:
    config: EnvironmentConfig
    naming: Naming
    function_name: str
    function_invoke_arn: str
    web_acl_arn: str
    logs_kms_key_arn: str
    throttle_rate_per_second: int = 20
    throttle_burst: int = 40


class ControlPlaneApi(Construct):
    """Every method requires SigV4 (AWS_IAM): callers are the platform team's roles."""

    def __init__(self, scope: Construct, id_: str, props: ControlPlaneApiProps) -> None:
        super().__init__(scope, id_)
        naming = props.naming

        self.api = ApiGatewayRestApi(
            self,
            "Api",
            name=naming.name("control-plane"),
            description="Tenant lifecycle API of the platform",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            minimum_compression_size="1024",
        )
        deployed: list[ApiGatewayMethod | ApiGatewayIntegration] = []
        resources: dict[str, ApiGatewayResource] = {}
        for path, verbs in ROUTES:
            parent_path, _, part = path.rpartition("/")
            parent = resources[parent_path].id if parent_path else self.api.root_resource_id
            resource = ApiGatewayResource(
                self,
                _construct_id(path),
                rest_api_id=self.api.id,
                parent_id=parent,
                path_part=part,
            )
            resources[path] = resource
            for verb in verbs:
                method = ApiGatewayMethod(
                    self,
                    f"{_construct_id(path)}{verb.title()}",
                    rest_api_id=self.api.id,
                    resource_id=resource.id,
                    http_method=verb,
                    authorization="AWS_IAM",
                )
                integration = ApiGatewayIntegration(
                    self,
                    f"{_construct_id(path)}{verb.title()}Integration",
                    rest_api_id=self.api.id,
                    resource_id=resource.id,
                    # The method's attribute, not the verb: Terraform then creates the method
                    # first and deletes it last ("Invalid Method identifier specified" else).
                    http_method=method.http_method,
                    type="AWS_PROXY",
                    integration_http_method="POST",
                    uri=props.function_invoke_arn,
                )
                # A deployment needs every method's integration: "No integration defined for
                # method" otherwise, when Terraform creates it before the integrations.
                deployed.extend((method, integration))

        LambdaPermission(
            self,
            "InvokeOnboarding",
            action="lambda:InvokeFunction",
            function_name=props.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.api.execution_arn}/*/*/tenants*",
        )
        deployment = ApiGatewayDeployment(
            self,
            "Deployment",
            rest_api_id=self.api.id,
            triggers={"routes": hashlib.sha256(json.dumps(ROUTES).encode()).hexdigest()},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=deployed,
        )

        account = self._cloudwatch_role(props)
        access_logs = encrypted_log_group(
            self,
            "AccessLogs",
            naming.log_group("api", "access"),
            props.config,
            props.logs_kms_key_arn,
        )
        self.stage = ApiGatewayStage(
            self,
            "Stage",
            rest_api_id=self.api.id,
            deployment_id=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn,
                format=json.dumps(ACCESS_LOG_FORMAT),
            ),
            depends_on=[account],
        )
        ApiGatewayMethodSettings(
            self,
            "Throttling",
            rest_api_id=self.api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level="INFO",
                data_trace_enabled=False,
                throttling_rate_limit=props.throttle_rate_per_second,
                throttling_burst_limit=props.throttle_burst,
            ),
        )
        Wafv2WebAclAssociation(
            self, "WebAcl", resource_arn=self.stage.arn, web_acl_arn=props.web_acl_arn
        )

    def _cloudwatch_role(self, props: ControlPlaneApiProps) -> ApiGatewayAccount:
        """API Gateway writes execution and access logs through one role per account and
        region; each environment lives in its own account, so each stack sets it."""
        role = IamRole(
            self,
            "CloudWatchRole",
            name=props.naming.name("apigateway-logs"),
            assume_role_policy=Fn.jsonencode(
                infra_iam.service_trust("apigateway.amazonaws.com", props.config.account_id)
            ),
        )
        IamRolePolicyAttachment(
            self,
            "CloudWatchPolicy",
            role=role.name,
            policy_arn=f"arn:{props.config.partition}:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs",
        )
        return ApiGatewayAccount(self, "Account", cloudwatch_role_arn=role.arn)

    @property
    def url(self) -> str:
        return self.stage.invoke_url


def _construct_id(path: str) -> str:
    return "".join(part.strip("{}").title() for part in path.split("/"))
