"""Synthesize every environment once per test session (the provider import is the slow part)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from environments import ENVIRONMENT_NAMES, load_environment
from environments.settings import PlatformSettings

Stack = dict[str, Any]


def synth_into(directory: Path, **settings: Any) -> dict[str, Stack]:
    from main import build_app

    resolved = PlatformSettings(
        out_dir=directory, build_dir=directory / "build", state_dir=directory / "state", **settings
    )
    build_app(resolved).synth()
    return {
        name: json.loads(
            (directory / "stacks" / load_environment(name).stack_id / "cdk.tf.json").read_text()
        )
        for name in ENVIRONMENT_NAMES
    }


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdktf-out")


@pytest.fixture(scope="session")
def stacks(synth_dir: Path) -> dict[str, Stack]:
    """env name -> synthesized Terraform JSON, default (offline) settings."""
    return synth_into(synth_dir)


@pytest.fixture(scope="session")
def settings(synth_dir: Path, stacks: dict[str, Stack]) -> Iterator[PlatformSettings]:
    yield PlatformSettings(
        out_dir=synth_dir, build_dir=synth_dir / "build", state_dir=synth_dir / "state"
    )


def resources(stack: Stack, kind: str) -> dict[str, dict[str, Any]]:
    """All resources of one Terraform type in a synthesized stack, by logical id."""
    found: dict[str, dict[str, Any]] = stack.get("resource", {}).get(kind, {})
    return found


def only(stack: Stack, kind: str) -> dict[str, Any]:
    found = list(resources(stack, kind).values())
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]
