"""Cognito: the tenant's admin user, its SSO identity provider, disabling its users.

The user pool signs users in by email (its username attributes are `email`), so Cognito keeps
one user per email and names it by its `sub`; the user's tenant is the `custom:tenant_id`
attribute. Each call here is a check-then-act on a natural key (the email, the provider name
derived from the tenant id), so a retried step finds what an earlier attempt made.

Limitation: one email is one user of one tenant, for good (a disabled user keeps its email),
so POST refuses an admin email that any user has. Workaround: another address, or an operator
deletes the old, disabled user. https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html

Limitation: a federated (SSO) user gets only the attributes the provider maps, and a mapping
cannot set the constant `custom:tenant_id`; the pool's app client must also list the provider
(SupportedIdentityProviders), which Terraform owns. Workaround: the infrastructure adds a
pre token generation trigger that maps the provider name (the tenant id's hex, see
provider_name) to the tenant, and lists providers on the client.
https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-specifying-attribute-mapping.html
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.tenant_onboarding import aws
from lambdas.tenant_onboarding.settings import ADMIN_GROUP

TENANT_ATTRIBUTE = "custom:tenant_id"
OIDC_SCOPES = "openid email profile"
SAML_EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
LIST_PAGE_SIZE = 60


class IdentityError(RuntimeError):
    """Cognito holds something that this tenant cannot use."""


@dataclass(frozen=True)
class User:
    username: str
    sub: str
    tenant_id: str | None
    enabled: bool


def _attributes(items: list[dict[str, str]]) -> dict[str, str]:
    return {item["Name"]: item["Value"] for item in items}


def _user(username: str, attributes: Mapping[str, str], enabled: bool) -> User:
    return User(
        username, attributes.get("sub", username), attributes.get(TENANT_ATTRIBUTE), enabled
    )


def find_user(pool_id: str, email: str) -> User | None:
    cognito = aws.client("cognito-idp")
    try:
        found = cognito.admin_get_user(UserPoolId=pool_id, Username=email)
    except cognito.exceptions.UserNotFoundException:
        return None
    return _user(found["Username"], _attributes(found["UserAttributes"]), found["Enabled"])


def ensure_admin_user(pool_id: str, tenant_id: uuid.UUID, email: str) -> User:
    """The tenant's admin: created once (Cognito emails the invitation), in the admin group."""
    cognito = aws.client("cognito-idp")
    user = find_user(pool_id, email)
    if user is None:
        try:
            created = cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": TENANT_ATTRIBUTE, "Value": str(tenant_id)},
                ],
                DesiredDeliveryMediums=["EMAIL"],
            )["User"]
            user = _user(created["Username"], _attributes(created["Attributes"]), True)
        except cognito.exceptions.UsernameExistsException:
            user = find_user(pool_id, email)
    if user is None or user.tenant_id != str(tenant_id):
        raise IdentityError("the admin email belongs to a user of another tenant")
    cognito.admin_add_user_to_group(
        UserPoolId=pool_id, Username=user.username, GroupName=ADMIN_GROUP
    )
    return user


def tenant_users(pool_id: str, tenant_id: uuid.UUID) -> list[User]:
    """Every user whose custom:tenant_id is the tenant.

    Limitation: ListUsers cannot filter on a custom attribute, so this lists the whole pool
    (60 users a page, within the ListUsers quota). Workaround for large pools: a group per
    tenant and ListUsersInGroup. https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html
    """
    cognito = aws.client("cognito-idp")
    users: list[User] = []
    kwargs: dict[str, Any] = {"UserPoolId": pool_id, "Limit": LIST_PAGE_SIZE}
    while True:
        page = cognito.list_users(**kwargs)
        for item in page.get("Users", []):
            user = _user(item["Username"], _attributes(item.get("Attributes", [])), item["Enabled"])
            if user.tenant_id == str(tenant_id):
                users.append(user)
        token = page.get("PaginationToken")
        if not token:
            return users
        kwargs["PaginationToken"] = token


def disable_tenant_users(pool_id: str, tenant_id: uuid.UUID) -> int:
    """Disable (which also revokes the tokens of) every enabled user of the tenant."""
    cognito = aws.client("cognito-idp")
    disabled = 0
    for user in tenant_users(pool_id, tenant_id):
        if user.enabled:
            cognito.admin_disable_user(UserPoolId=pool_id, Username=user.username)
            disabled += 1
    return disabled


def provider_name(tenant_id: uuid.UUID) -> str:
    """32 characters, Cognito's limit for a provider name, unique per tenant."""
    return tenant_id.hex


def _client_secret(arn: str) -> str:
    value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    try:
        parsed = json.loads(value)
    except ValueError:
        return str(value)
    if isinstance(parsed, dict) and isinstance(parsed.get("client_secret"), str):
        return str(parsed["client_secret"])
    raise IdentityError("the SSO secret is JSON without a string 'client_secret'")


def _provider(sso: Mapping[str, str]) -> dict[str, Any]:
    if sso["type"] == "saml":
        return {
            "ProviderType": "SAML",
            "ProviderDetails": {"MetadataURL": sso["metadata_url"], "IDPSignout": "false"},
            "AttributeMapping": {"email": SAML_EMAIL_CLAIM},
        }
    return {
        "ProviderType": "OIDC",
        "ProviderDetails": {
            "client_id": sso["client_id"],
            "client_secret": _client_secret(sso["client_secret_arn"]),
            "oidc_issuer": sso["issuer"],
            "authorize_scopes": OIDC_SCOPES,
            "attributes_request_method": "GET",
        },
        "AttributeMapping": {"email": "email"},
    }


def ensure_identity_provider(pool_id: str, tenant_id: uuid.UUID, sso: Mapping[str, str]) -> None:
    cognito = aws.client("cognito-idp")
    name = provider_name(tenant_id)
    try:
        cognito.describe_identity_provider(UserPoolId=pool_id, ProviderName=name)
        return
    except cognito.exceptions.ResourceNotFoundException:
        pass
    try:
        cognito.create_identity_provider(UserPoolId=pool_id, ProviderName=name, **_provider(sso))
    except cognito.exceptions.DuplicateProviderException:
        return


def delete_identity_provider(pool_id: str, tenant_id: uuid.UUID) -> None:
    cognito = aws.client("cognito-idp")
    try:
        cognito.delete_identity_provider(UserPoolId=pool_id, ProviderName=provider_name(tenant_id))
    except cognito.exceptions.ResourceNotFoundException:
        return
