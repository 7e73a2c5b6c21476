"""Shared Redis (ElastiCache replication group) with TLS, KMS at rest and IAM authentication.

Authentication uses ElastiCache RBAC users of type `iam`: clients sign a token with their
role, so no password has to be generated, stored or rotated, and no provider other than
hashicorp/aws is needed (an AUTH token would need `random` or a secret created by hand).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupLogDeliveryConfiguration,
)
from cdktf_cdktf_provider_aws.elasticache_user import (
    ElasticacheUser,
    ElasticacheUserAuthenticationMode,
)
from cdktf_cdktf_provider_aws.elasticache_user_group import ElasticacheUserGroup
from constructs import Construct

from environments.config import EnvironmentConfig
from modules.log_groups import encrypted_log_group
from modules.naming import Naming
from modules.security_groups import group_for_clients

REDIS_PORT = 6379


@dataclass(frozen=True)
class CacheProps:
    config: EnvironmentConfig
    naming: Naming
    vpc_id: str
    subnet_group_name: str
    client_security_group_ids: dict[str, str]
    kms_key_arn: str
    logs_kms_key_arn: str


class Cache(Construct):
    """Multi-AZ with automatic failover when the environment has replicas (staging, prod)."""

    def __init__(self, scope: Construct, id_: str, props: CacheProps) -> None:
        super().__init__(scope, id_)
        naming, redis = props.naming, props.config.redis
        replicated = redis.replicas > 0

        self.security_group = group_for_clients(
            self,
            name=naming.name("redis"),
            service="Redis",
            vpc_id=props.vpc_id,
            port=REDIS_PORT,
            clients=props.client_security_group_ids,
        )

        # Every user group must contain a user named "default"; this one is switched off.
        default_user = ElasticacheUser(
            self,
            "DefaultUser",
            user_id=naming.name("redis-default"),
            user_name="default",
            engine="redis",
            access_string="off -@all",
            authentication_mode=ElasticacheUserAuthenticationMode(type="no-password-required"),
        )
        # IAM authentication requires user_id == user_name.
        service_user_id = naming.name("redis-platform")
        self.service_user = ElasticacheUser(
            self,
            "ServiceUser",
            user_id=service_user_id,
            user_name=service_user_id,
            engine="redis",
            access_string="on ~* +@all -@dangerous",
            authentication_mode=ElasticacheUserAuthenticationMode(type="iam"),
        )
        users = ElasticacheUserGroup(
            self,
            "Users",
            user_group_id=naming.name("redis"),
            engine="redis",
            user_ids=[default_user.user_id, self.service_user.user_id],
        )

        slow_log = encrypted_log_group(
            self,
            "SlowLog",
            naming.log_group("redis", "slow-log"),
            props.config,
            props.logs_kms_key_arn,
        )
        self.group = ElasticacheReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=naming.name("redis", limit=40),
            description=f"{naming.base} shared cache",
            engine="redis",
            engine_version=redis.engine_version,
            node_type=redis.node_type,
            port=REDIS_PORT,
            num_cache_clusters=1 + redis.replicas,
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            subnet_group_name=props.subnet_group_name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled="true",
            kms_key_id=props.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[users.user_group_id],
            snapshot_retention_limit=7 if replicated else 1,
            auto_minor_version_upgrade="true",
            log_delivery_configuration=[
                ElasticacheReplicationGroupLogDeliveryConfiguration(
                    destination=slow_log.name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                )
            ],
        )
