"""The encrypted SNS topic every alarm notifies."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from modules.naming import Naming


@dataclass(frozen=True)
class AlarmTopicProps:
    naming: Naming
    kms_key_arn: str
    email: str | None = None


class AlarmTopic(Construct):
    def __init__(self, scope: Construct, id_: str, props: AlarmTopicProps) -> None:
        super().__init__(scope, id_)
        self.topic = SnsTopic(
            self, "Topic", name=props.naming.name("alarms"), kms_master_key_id=props.kms_key_arn
        )
        if props.email:
            SnsTopicSubscription(
                self, "Email", topic_arn=self.topic.arn, protocol="email", endpoint=props.email
            )
