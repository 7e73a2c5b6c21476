"""Policy gate: checkov and the platform's own checks on the offline plan of every environment.

    python -m scripts.policy_gate                    # judge build/plan/<env>.json of each env
    python -m scripts.policy_gate --refresh-plans    # synth and plan first (what `make check` runs)
    python -m scripts.policy_gate --suggest-baseline # also print TOML for the new failures
    python -m scripts.policy_gate --list-baseline    # the baseline as a Markdown table

Fails on a failure that policies/checkov/baseline.toml does not excuse, on a baseline entry
that excuses nothing, on a plan or report that cannot be read, and when no check ran.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from environments import ENVIRONMENT_NAMES
from environments.settings import REPO_ROOT, load_settings
from policies.checkov.baseline import (
    BASELINE_PATH,
    BaselineEntry,
    EnvironmentOutcome,
    GateOutcome,
    apply_baseline,
    load_baseline,
    suggest_entries,
)
from policies.checkov.checkov_cli import ensure_checkov, run_checkov
from policies.checkov.checks import run_checks
from policies.checkov.findings import Finding, GateInputError
from policies.checkov.plan import load_plan

CHECKOV_VENV = REPO_ROOT / ".local" / "checkov-venv"


@dataclass(frozen=True)
class Arguments:
    environments: tuple[str, ...]
    plan_dir: Path
    baseline: Path
    refresh_plans: bool
    suggest_baseline: bool
    list_baseline: bool
    checkov: Path | None


def parse_arguments(argv: Sequence[str] | None) -> Arguments:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.policy_gate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", choices=ENVIRONMENT_NAMES, action="append", help="default: all")
    parser.add_argument("--plan-dir", type=Path, default=None, help="default: <build>/plan")
    parser.add_argument("--baseline", type=Path, default=BASELINE_PATH)
    parser.add_argument("--refresh-plans", action="store_true", help="run scripts.tf plan first")
    parser.add_argument("--suggest-baseline", action="store_true")
    parser.add_argument("--list-baseline", action="store_true", help="print it and exit")
    parser.add_argument(
        "--checkov",
        type=Path,
        default=os.environ.get("PLATFORM_CHECKOV") or None,
        help="a checkov executable to use instead of .local/checkov-venv (env PLATFORM_CHECKOV)",
    )
    parsed = parser.parse_args(argv)
    return Arguments(
        environments=tuple(parsed.env or ENVIRONMENT_NAMES),
        plan_dir=parsed.plan_dir or load_settings().build_dir / "plan",
        baseline=parsed.baseline,
        refresh_plans=parsed.refresh_plans,
        suggest_baseline=parsed.suggest_baseline,
        list_baseline=parsed.list_baseline,
        checkov=parsed.checkov,
    )


def refresh_plans(environments: Sequence[str]) -> None:
    command = [sys.executable, "-m", "scripts.tf", "plan"]
    for environment in environments:
        command += ["--env", environment]
    if subprocess.run(command, cwd=REPO_ROOT, check=False).returncode != 0:
        raise GateInputError("`python -m scripts.tf plan` failed; see its output above")


def check_environment(checkov: Path, plan_json: Path, environment: str) -> list[Finding]:
    """Every finding of one environment; raises GateInputError when nothing could be judged."""
    plan = load_plan(plan_json, environment)
    custom = run_checks(plan)
    scanned = run_checkov(checkov, plan_json, environment)
    if not scanned:
        raise GateInputError(f"{environment}: checkov ran no check on {plan_json}")
    if not custom:
        raise GateInputError(f"{environment}: the platform checks found no resource to check")
    return [*scanned, *custom]


def _row(source: str, findings: Sequence[Finding], outcome: EnvironmentOutcome) -> str:
    mine = [f for f in findings if f.source == source]
    baselined = sum(1 for f in outcome.baselined if f.source == source)
    new = sum(1 for f in outcome.new_failures if f.source == source)
    passed = sum(1 for f in mine if f.passed)
    return (
        f"  {source:<8} {len(mine):>6} {passed:>7} {len(mine) - passed:>7} {baselined:>10} {new:>5}"
    )


def print_report(outcome: GateOutcome, errors: dict[str, str], plan_dir: Path) -> None:
    for result in outcome.environments:
        print(f"\npolicy gate: {result.environment} ({plan_dir / (result.environment + '.json')})")
        print(
            f"  {'source':<8} {'ran':>6} {'passed':>7} {'failed':>7} {'baselined':>10} {'new':>5}"
        )
        for source in ("checkov", "custom"):
            print(_row(source, result.findings, result))
        for failure in sorted(result.new_failures, key=lambda f: (f.check_id, f.resource)):
            detail = f" ({failure.detail})" if failure.detail else ""
            print(f"  NEW {failure.check_id} {failure.resource}: {failure.title}{detail}")
    for environment, message in errors.items():
        print(f"\npolicy gate: {environment}: ERROR {message}")
    if outcome.stale:
        print("\npolicy gate: stale baseline entries (the resource no longer fails there):")
        for stale in outcome.stale:
            print(f"  STALE {stale.check_id} {stale.resource} in {stale.environment}")
    total = sum(len(result.findings) for result in outcome.environments)
    baselined = sum(len(result.baselined) for result in outcome.environments)
    new = sum(len(result.new_failures) for result in outcome.environments)
    verdict = "PASSED" if outcome.passed and not errors else "FAILED"
    print(
        f"\npolicy gate: {verdict}: {len(outcome.environments)} environments, {total} results, "
        f"{baselined} baselined, {new} new failures, {len(outcome.stale)} stale entries, "
        f"{len(errors)} errors"
    )


def baseline_table(entries: Sequence[BaselineEntry]) -> str:
    """The baseline as Markdown, for the README: generated, so it cannot drift."""
    rows = ["| check | environments | resources | reason |", "|---|---|---|---|"]
    for entry in entries:
        resources = "<br>".join(f"`{resource}`" for resource in entry.resources)
        environments = ", ".join(entry.environments)
        rows.append(f"| {entry.check_id} | {environments} | {resources} | {entry.reason} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        entries = load_baseline(arguments.baseline, ENVIRONMENT_NAMES)
        if arguments.list_baseline:
            print(baseline_table(entries))
            return 0
        if arguments.refresh_plans:
            refresh_plans(arguments.environments)
        checkov = arguments.checkov or ensure_checkov(CHECKOV_VENV)
    except GateInputError as error:
        print(f"policy gate: ERROR {error}", file=sys.stderr)
        return 1

    findings: dict[str, list[Finding]] = {}
    errors: dict[str, str] = {}
    for environment in arguments.environments:
        plan_json = arguments.plan_dir / f"{environment}.json"
        try:
            findings[environment] = check_environment(checkov, plan_json, environment)
        except GateInputError as error:
            errors[environment] = str(error)
    outcome = apply_baseline(entries, findings)
    print_report(outcome, errors, arguments.plan_dir)
    if arguments.suggest_baseline and any(r.new_failures for r in outcome.environments):
        print("\n# Baseline entries for the new failures; write each reason before committing:\n")
        print(suggest_entries(outcome))
    return 0 if outcome.passed and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
