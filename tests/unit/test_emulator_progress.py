"""What the emulator deploy counts while terraform applies (scripts/emulator.py)."""

from __future__ import annotations

from typing import Any

from scripts.emulator import _Progress


def _planned(address: str, action: str) -> dict[str, Any]:
    return {"type": "planned_change", "change": {"resource": {"addr": address}, "action": action}}


def _hook(kind: str, address: str) -> dict[str, Any]:
    return {"type": kind, "hook": {"resource": {"addr": address}}}


def test_progress_counts_only_changes_to_resources() -> None:
    progress = _Progress(echo=lambda message: None)
    for message in (
        _planned("data.aws_caller_identity.current", "read"),
        _planned("aws_vpc.Network_Vpc", "create"),
        _planned("aws_lb.Edge_Alb", "update"),
        _planned("aws_s3_bucket.LogBucket", "no-op"),
        _hook("apply_start", "aws_vpc.Network_Vpc"),
        _hook("apply_complete", "aws_vpc.Network_Vpc"),
        _hook("apply_start", "data.aws_caller_identity.current"),
        _hook("apply_complete", "data.aws_caller_identity.current"),
        _hook("refresh_complete", "aws_lb.Edge_Alb"),
    ):
        progress.update(message)

    assert (progress.planned, progress.done, progress.refreshed) == (2, 1, 1)
    assert progress.running == {}
