"""Fixtures of the tenant onboarding tests: moto in-process, the real databases, clean-up.

Each test gets fresh moto resources (user pool, admin group, versioned document bucket, event
bus with a queue that catches every event) and the databases of the local platform; every
tenant a test creates is removed at the end, so the suite can run again on the same server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto import mock_aws

from lambdas.tenant_onboarding import aws, connections
from lambdas.tenant_onboarding.settings import ADMIN_GROUP, EVENT_SOURCE
from tests.lambdas.tenant_onboarding.support import Databases

BUS = "platform-dev-tenants"
REGION = "eu-west-1"


@dataclass
class Cloud:
    """The moto resources of one test, and counters over them."""

    pool_id: str
    bucket: str
    queue_url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    def users(self, tenant_id: str) -> list[dict[str, Any]]:
        cognito = aws.client("cognito-idp")
        users = []
        for page in cognito.get_paginator("list_users").paginate(UserPoolId=self.pool_id):
            for user in page["Users"]:
                attributes = {a["Name"]: a["Value"] for a in user["Attributes"]}
                if attributes.get("custom:tenant_id") == tenant_id:
                    users.append({**user, "attributes": attributes})
        return users

    def versions(self, prefix: str) -> list[dict[str, Any]]:
        listing = aws.client("s3").list_object_versions(Bucket=self.bucket, Prefix=prefix)
        return [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]

    def events(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every event delivered so far (drained from the queue), optionally of one tenant."""
        sqs = aws.client("sqs")
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [
            event
            for event in self.received
            if tenant_id is None or event["detail"]["tenant_id"] == tenant_id
        ]

    def identity_providers(self) -> list[str]:
        listing = aws.client("cognito-idp").list_identity_providers(
            UserPoolId=self.pool_id, MaxResults=60
        )
        return [provider["ProviderName"] for provider in listing["Providers"]]


@pytest.fixture
def cloud(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for name, value in platform_env.items():
        if name.endswith("_DSN"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "tenant-onboarding",
        "EVENT_BUS_NAME": BUS,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        aws.reset_clients()
        cognito = aws.client("cognito-idp")
        pool_id = cognito.create_user_pool(
            PoolName="platform-dev-users",
            UsernameAttributes=["email"],
            Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False}],
        )["UserPool"]["Id"]
        cognito.create_group(UserPoolId=pool_id, GroupName=ADMIN_GROUP)
        s3 = aws.client("s3")
        bucket = "platform-dev-documents-test"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        events = aws.client("events")
        events.create_event_bus(Name=BUS)
        sqs = aws.client("sqs")
        queue_url = sqs.create_queue(QueueName="tenant-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name="all-tenant-events",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
        )
        events.put_targets(
            Rule="all-tenant-events", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}]
        )
        monkeypatch.setenv("USER_POOL_ID", pool_id)
        monkeypatch.setenv("DOCUMENT_BUCKET", bucket)
        try:
            yield Cloud(pool_id, bucket, queue_url)
        finally:
            aws.reset_clients()
            connections.close_thread_connections()


@pytest.fixture
def databases(platform_env: dict[str, str]) -> Iterator[Databases]:
    readers = Databases(platform_env)
    yield readers
    readers.close()


@pytest.fixture
def created(databases: Databases) -> Iterator[list[str]]:
    """Slugs of tenants the test made; removed (with every row) at the end."""
    slugs: list[str] = []
    yield slugs
    for slug in slugs:
        row = databases.tenant_row(slug)
        if row is not None:
            databases.remove_tenant(row["id"])
