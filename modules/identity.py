"""Cognito: the user pool for tenant users and SSO, its hosted domain and the ALB client."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cognito_user_group import CognitoUserGroup
from cdktf_cdktf_provider_aws.cognito_user_pool import (
    CognitoUserPool,
    CognitoUserPoolAccountRecoverySetting,
    CognitoUserPoolAccountRecoverySettingRecoveryMechanism,
    CognitoUserPoolAdminCreateUserConfig,
    CognitoUserPoolPasswordPolicy,
    CognitoUserPoolSchema,
    CognitoUserPoolSchemaStringAttributeConstraints,
    CognitoUserPoolSoftwareTokenMfaConfiguration,
    CognitoUserPoolUsernameConfiguration,
    CognitoUserPoolUserPoolAddOns,
)
from cdktf_cdktf_provider_aws.cognito_user_pool_client import (
    CognitoUserPoolClient,
    CognitoUserPoolClientTokenValidityUnits,
)
from cdktf_cdktf_provider_aws.cognito_user_pool_domain import CognitoUserPoolDomain
from constructs import Construct

from environments.config import EnvironmentConfig
from modules.business_app import CognitoAuthentication
from modules.identity_names import PLATFORM_ADMIN_GROUP, TENANT_ADMIN_GROUP
from modules.naming import Naming

COGNITO_DOMAIN_PREFIX_MAX = 63


@dataclass(frozen=True)
class IdentityProps:
    config: EnvironmentConfig
    naming: Naming


class Identity(Construct):
    """Users sign in with their email; `custom:tenant_id` ties a user to one tenant and is
    set only by the platform (onboarding), never by the user."""

    def __init__(self, scope: Construct, id_: str, props: IdentityProps) -> None:
        super().__init__(scope, id_)
        config, naming, cognito = props.config, props.naming, props.config.cognito
        production = config.database.deletion_protection

        self.user_pool = CognitoUserPool(
            self,
            "UserPool",
            name=naming.name("users"),
            username_attributes=["email"],
            # Sign-in names are case-insensitive, so one address is one user however it is
            # typed; Cognito fixes this when the pool is made (a change replaces the pool).
            username_configuration=CognitoUserPoolUsernameConfiguration(case_sensitive=False),
            auto_verified_attributes=["email"],
            mfa_configuration=cognito.mfa,
            software_token_mfa_configuration=CognitoUserPoolSoftwareTokenMfaConfiguration(
                enabled=True
            )
            if cognito.mfa != "OFF"
            else None,
            password_policy=CognitoUserPoolPasswordPolicy(
                minimum_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=3,
            ),
            admin_create_user_config=CognitoUserPoolAdminCreateUserConfig(
                allow_admin_create_user_only=True
            ),
            account_recovery_setting=CognitoUserPoolAccountRecoverySetting(
                recovery_mechanism=[
                    CognitoUserPoolAccountRecoverySettingRecoveryMechanism(
                        name="verified_email", priority=1
                    )
                ]
            ),
            schema=[
                CognitoUserPoolSchema(
                    name="tenant_id",
                    attribute_data_type="String",
                    mutable=False,
                    developer_only_attribute=False,
                    string_attribute_constraints=CognitoUserPoolSchemaStringAttributeConstraints(
                        min_length="36", max_length="36"
                    ),
                )
            ],
            user_pool_add_ons=CognitoUserPoolUserPoolAddOns(
                advanced_security_mode="ENFORCED" if production else "AUDIT"
            ),
            deletion_protection="ACTIVE" if production else "INACTIVE",
        )
        for group_id, name, description in (
            ("TenantAdmins", TENANT_ADMIN_GROUP, "Administrators of one tenant"),
            ("PlatformAdmins", PLATFORM_ADMIN_GROUP, "Operators of the whole platform"),
        ):
            CognitoUserGroup(
                self, group_id, name=name, user_pool_id=self.user_pool.id, description=description
            )

        self.domain = CognitoUserPoolDomain(
            self,
            "Domain",
            user_pool_id=self.user_pool.id,
            domain=cognito.domain_prefix
            or naming.globally_unique("auth", COGNITO_DOMAIN_PREFIX_MAX),
        )
        # Limitation: Cognito accepts no wildcard callback URL, so ALB sign-in works on the apex
        # host only. Workaround: list tenant hosts in callback_urls (at most 100) or send
        # sign-in through the apex host.
        # https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-client-apps.html
        self.alb_client = CognitoUserPoolClient(
            self,
            "AlbClient",
            name=naming.name("alb"),
            user_pool_id=self.user_pool.id,
            generate_secret=True,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=["openid", "email", "profile"],
            supported_identity_providers=["COGNITO"],
            callback_urls=[f"https://{config.domain_name}/oauth2/idpresponse"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=12,
            token_validity_units=[
                CognitoUserPoolClientTokenValidityUnits(
                    access_token="minutes", id_token="minutes", refresh_token="hours"
                )
            ],
        )

    def alb_authentication(self) -> CognitoAuthentication:
        return CognitoAuthentication(
            user_pool_arn=self.user_pool.arn,
            user_pool_client_id=self.alb_client.id,
            user_pool_domain=self.domain.domain,
        )
