"""The document bucket: the tenant manifest, and removing every version under its prefix."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from lambdas.tenant_onboarding import aws

MANIFEST_NAME = "tenant.json"
DIGEST_METADATA = "sha256"
DELETE_BATCH = 1000


class DocumentError(RuntimeError):
    """S3 refused to delete some objects."""


def tenant_prefix(tenant_id: uuid.UUID) -> str:
    return f"tenants/{tenant_id}/"


def manifest_key(tenant_id: uuid.UUID) -> str:
    return f"{tenant_prefix(tenant_id)}{MANIFEST_NAME}"


def put_manifest(bucket: str, tenant_id: uuid.UUID, manifest: Mapping[str, Any]) -> bool:
    """Write the manifest unless the current version already has these bytes (the bucket is
    versioned: an unconditional put would add a version on every retry). True if written."""
    s3 = aws.client("s3")
    body = (json.dumps(dict(manifest), indent=2, sort_keys=True) + "\n").encode()
    digest = hashlib.sha256(body).hexdigest()
    key = manifest_key(tenant_id)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if head.get("Metadata", {}).get(DIGEST_METADATA) == digest:
            return False
    except s3.exceptions.ClientError as exc:
        if aws.error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        Metadata={DIGEST_METADATA: digest},
    )
    return True


def delete_prefix(bucket: str, prefix: str) -> int:
    """Delete every version and delete marker under `prefix`; returns how many went."""
    if not prefix.endswith("/") or prefix == "/":
        raise ValueError(f"prefix {prefix!r} must end with '/' and name a folder")
    s3 = aws.client("s3")
    deleted: set[tuple[str, str]] = set()
    while True:
        listing = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=DELETE_BATCH)
        objects = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in (*listing.get("Versions", []), *listing.get("DeleteMarkers", []))
        ]
        if not objects:
            return len(deleted)
        listed = {(item["Key"], item["VersionId"]) for item in objects}
        if listed & deleted:
            # S3 said it deleted these (e.g. under an object lock it may not): stop, not loop.
            raise DocumentError(f"{len(listed & deleted)} object versions survived deletion")
        for start in range(0, len(objects), DELETE_BATCH):
            batch = objects[start : start + DELETE_BATCH]
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                codes = sorted({error.get("Code", "?") for error in result["Errors"]})
                raise DocumentError(f"S3 did not delete {len(result['Errors'])} objects: {codes}")
        deleted |= listed
