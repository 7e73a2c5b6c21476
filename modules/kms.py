"""Customer-managed KMS keys with rotation, one per purpose."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from environments.config import EnvironmentConfig
from modules.naming import Naming
from policies import infra_iam

# purpose -> AWS services that encrypt with the key on our behalf (named in the key policy)
KEY_PURPOSES: dict[str, tuple[str, ...]] = {
    "data": ("cloudwatch.amazonaws.com", "events.amazonaws.com"),
    "logs": ("logs.{region}.amazonaws.com",),
    "storage": (),
}


@dataclass(frozen=True)
class KeysProps:
    config: EnvironmentConfig
    naming: Naming
    deletion_window_days: int = 30


class PlatformKeys(Construct):
    """`data` encrypts databases, cache, queues and topics; `logs` the log groups; `storage`
    the document bucket. Rotation is yearly (the AWS default period)."""

    def __init__(self, scope: Construct, id_: str, props: KeysProps) -> None:
        super().__init__(scope, id_)
        config = props.config
        self.keys: dict[str, KmsKey] = {}
        for purpose, services in KEY_PURPOSES.items():
            principals = [service.format(region=config.region) for service in services]
            key = KmsKey(
                self,
                purpose.title(),
                description=f"{props.naming.base} {purpose}",
                enable_key_rotation=True,
                deletion_window_in_days=props.deletion_window_days,
                policy=Fn.jsonencode(
                    infra_iam.kms_key_policy(
                        config.partition, config.account_id, config.region, principals
                    )
                ),
            )
            KmsAlias(
                self,
                f"{purpose.title()}Alias",
                name=f"alias/{props.naming.name(purpose)}",
                target_key_id=key.key_id,
            )
            self.keys[purpose] = key

    @property
    def data(self) -> KmsKey:
        return self.keys["data"]

    @property
    def logs(self) -> KmsKey:
        return self.keys["logs"]

    @property
    def storage(self) -> KmsKey:
        return self.keys["storage"]
