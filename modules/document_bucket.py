"""Tenant documents and usage reports: `tenants/<tenant_id>/<app>/...` and `reports/...`."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from modules.log_bucket import S3_ACCESS_LOG_PREFIX
from modules.naming import Naming
from modules.private_bucket import LifecycleRule, PrivateBucket, PrivateBucketProps
from policies import s3_policies

TENANTS_PREFIX = "tenants/"
REPORTS_PREFIX = "reports/"


@dataclass(frozen=True)
class DocumentBucketProps:
    naming: Naming
    kms_key_arn: str
    access_log_bucket: str
    force_destroy: bool = False
    report_retention_days: int = 730


class DocumentBucket(PrivateBucket):
    """SSE-KMS with the storage key, server access logs to the log bucket; old versions of
    tenant documents are kept 30 days, so an overwrite or delete can be undone."""

    def __init__(self, scope: Construct, id_: str, props: DocumentBucketProps) -> None:
        super().__init__(
            scope,
            id_,
            PrivateBucketProps(
                name=props.naming.bucket("documents"),
                kms_key_arn=props.kms_key_arn,
                lifecycle=(
                    LifecycleRule(
                        "tenant-documents", TENANTS_PREFIX, infrequent_access_after_days=90
                    ),
                    LifecycleRule(
                        "usage-reports",
                        REPORTS_PREFIX,
                        expire_after_days=props.report_retention_days,
                    ),
                ),
                policy=s3_policies.document_bucket_policy,
                access_log_bucket=props.access_log_bucket,
                access_log_prefix=f"{S3_ACCESS_LOG_PREFIX}{props.naming.bucket('documents')}/",
                force_destroy=props.force_destroy,
            ),
        )
