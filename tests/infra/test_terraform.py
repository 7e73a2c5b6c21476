"""The real Terraform CLI with the real AWS provider: validate and an offline plan."""

from __future__ import annotations

import pytest

from environments import APP_NAMES, ENVIRONMENT_NAMES
from environments.settings import PlatformSettings
from scripts import tf

pytestmark = pytest.mark.terraform


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_terraform_validate_accepts_stack(settings: PlatformSettings, env: str) -> None:
    report = tf.validate(settings, env)
    assert report["valid"] is True
    assert report["error_count"] == 0


@pytest.mark.parametrize("env", ENVIRONMENT_NAMES)
def test_terraform_plan_offline_creates_platform(settings: PlatformSettings, env: str) -> None:
    result = tf.plan(settings, env)
    assert result.json_file.is_file() and result.plan_file.is_file()
    assert result.to_add["aws_lb_target_group"] == len(APP_NAMES)
    assert result.to_add["aws_db_instance"] >= len(APP_NAMES)
    assert result.to_add["aws_lb"] == 1
    assert result.to_change == 0 and result.to_destroy == 0


def test_cli_config_points_at_detected_mirror(settings: PlatformSettings) -> None:
    path = tf.write_cli_config(settings)
    text = path.read_text()
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert "filesystem_mirror" in text and "direct" not in text


def test_policy_gate_passes_on_every_offline_plan(
    settings: PlatformSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    from scripts import policy_gate

    for env in ENVIRONMENT_NAMES:
        if not (settings.build_dir / "plan" / f"{env}.json").is_file():
            tf.plan(settings, env)
    code = policy_gate.main(["--plan-dir", str(settings.build_dir / "plan")])
    report = capsys.readouterr().out
    assert code == 0, report
    assert "0 new failures, 0 stale entries, 0 errors" in report
