"""Terraform against the synthesized stacks, offline: init from the provider mirror,
validate, plan, and a plan summary. A thin CLI over functions the tests call.

    python -m scripts.tf validate            # synth, then init + validate every stack
    python -m scripts.tf plan --env dev      # synth, then plan one environment, with JSON
    python -m scripts.tf apply --env dev --plan-file build/plan/dev.tfplan --no-synth
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from environments import ENVIRONMENT_NAMES, ConfigError, load_all, load_environment
from environments.settings import PlatformSettings, find_provider_mirror, load_settings

PROVIDER = "registry.terraform.io/hashicorp/aws"


class TerraformError(RuntimeError):
    """A terraform command failed; the message carries its output."""


@dataclass(frozen=True)
class PlanResult:
    environment: str
    plan_file: Path
    json_file: Path
    to_add: Counter[str]
    to_change: int
    to_destroy: int


def write_cli_config(settings: PlatformSettings) -> Path:
    """A Terraform CLI configuration that installs hashicorp/aws from the local mirror.

    Only the AWS provider is installed from the mirror; any other provider would need the
    registry, which this configuration does not allow. The plugin cache makes every stack
    share one installed copy (Terraform links unpacked mirror entries instead of copying).
    """
    mirror = find_provider_mirror(settings.tf_provider_mirror)
    home = settings.state_dir.parent / "terraform"
    cache = home / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = home / "terraformrc"
    text = (
        f'plugin_cache_dir = "{cache}"\n'
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        f'    include = ["{PROVIDER}"]\n'
        "  }\n"
        "}\n"
    )
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def terraform_env(settings: PlatformSettings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TF_CLI_CONFIG_FILE=str(write_cli_config(settings)),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    if settings.target != "aws":
        # The provider is configured with dummy keys; keep real ones out of offline runs.
        for name in (
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ):
            env.pop(name, None)
    return env


def run(args: list[str], cwd: Path, settings: PlatformSettings) -> str:
    result = subprocess.run(
        ["terraform", *args, "-no-color"],
        cwd=cwd,
        env=terraform_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise TerraformError(
            f"terraform {args[0]} failed in {cwd.name} (exit {result.returncode}):\n"
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


def stack_dir(settings: PlatformSettings, environment: str) -> Path:
    path = settings.out_dir / "stacks" / load_environment(environment).stack_id
    if not (path / "cdk.tf.json").is_file():
        raise FileNotFoundError(f"{path}/cdk.tf.json is missing: synthesize first (make synth)")
    return path


def init(settings: PlatformSettings, environment: str, backend: bool = True) -> Path:
    directory = stack_dir(settings, environment)
    run(["init", "-input=false", f"-backend={'true' if backend else 'false'}"], directory, settings)
    return directory


def validate(settings: PlatformSettings, environment: str) -> dict[str, object]:
    """`terraform validate -json` of one stack; raises when it is not valid."""
    directory = init(settings, environment, backend=False)
    result = subprocess.run(
        ["terraform", "validate", "-json", "-no-color"],
        cwd=directory,
        env=terraform_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    report: dict[str, object] = json.loads(result.stdout)
    if not report.get("valid"):
        diagnostics = report.get("diagnostics", [])
        raise TerraformError(f"{directory.name} is not valid: {json.dumps(diagnostics, indent=1)}")
    return report


def summarize(plan_json: dict[str, object]) -> tuple[Counter[str], int, int]:
    to_add: Counter[str] = Counter()
    changed = destroyed = 0
    changes = plan_json.get("resource_changes", [])
    assert isinstance(changes, list)
    for change in changes:
        actions = change["change"]["actions"]
        if "create" in actions:
            to_add[change["type"]] += 1
        if "update" in actions:
            changed += 1
        if "delete" in actions:
            destroyed += 1
    return to_add, changed, destroyed


def plan(settings: PlatformSettings, environment: str) -> PlanResult:
    """Plan one environment without refreshing (offline: there is nothing to refresh)."""
    directory = init(settings, environment)
    out = settings.build_dir / "plan"
    out.mkdir(parents=True, exist_ok=True)
    plan_file = out / f"{environment}.tfplan"
    refresh = "-refresh=false" if settings.target == "offline" else "-refresh=true"
    run(["plan", "-input=false", "-lock=false", refresh, f"-out={plan_file}"], directory, settings)
    shown = run(["show", "-json", str(plan_file)], directory, settings)
    json_file = out / f"{environment}.json"
    json_file.write_text(shown)
    to_add, changed, destroyed = summarize(json.loads(shown))
    return PlanResult(environment, plan_file, json_file, to_add, changed, destroyed)


def apply(
    settings: PlatformSettings,
    environment: str,
    plan_file: Path | None = None,
    parallelism: int = 30,
) -> str:
    """Apply a saved plan (what a reviewer saw), or plan and apply in one step."""
    directory = init(settings, environment)
    target = [str(plan_file)] if plan_file else ["-auto-approve"]
    return run(
        ["apply", "-input=false", f"-parallelism={parallelism}", *target], directory, settings
    )


def print_plan(result: PlanResult) -> None:
    total = sum(result.to_add.values())
    print(
        f"plan {result.environment}: {total} to add, {result.to_change} to change, "
        f"{result.to_destroy} to destroy ({result.json_file})"
    )
    for kind, count in sorted(result.to_add.items()):
        print(f"  {count:4d}  {kind}")


def synth(settings: PlatformSettings) -> None:
    from main import build_app

    load_all()  # validates every environment before the provider bindings load
    started = time.monotonic()
    build_app(settings).synth()
    print(
        f"synth: {len(ENVIRONMENT_NAMES)} stacks in {time.monotonic() - started:.1f}s "
        f"-> {settings.out_dir}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.tf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["validate", "plan", "apply", "cli-config"])
    parser.add_argument("--plan-file", type=Path, help="apply: the saved plan to apply")
    parser.add_argument(
        "--env", choices=ENVIRONMENT_NAMES, action="append", help="environment(s); default: all"
    )
    parser.add_argument("--no-synth", action="store_true", help="use cdktf.out as it is")
    args = parser.parse_args(argv)
    environments = args.env or list(ENVIRONMENT_NAMES)

    try:
        settings = load_settings()
        # Before the (slow) synth: a missing mirror or a bad config fails at once.
        cli_config = write_cli_config(settings)
        if args.command == "cli-config":
            print(cli_config)
            return 0
        if not args.no_synth:
            synth(settings)
        for environment in environments:
            started = time.monotonic()
            if args.command == "validate":
                validate(settings, environment)
                print(f"validate {environment}: valid ({time.monotonic() - started:.1f}s)")
            elif args.command == "apply":
                apply(settings, environment, args.plan_file)
                print(f"apply {environment}: done ({time.monotonic() - started:.1f}s)")
            else:
                print_plan(plan(settings, environment))
    except (TerraformError, FileNotFoundError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
