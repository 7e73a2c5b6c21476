"""The workflow rules of scripts/lint_workflows.py, and the shape of the platform pipeline."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from scripts.lint_workflows import (
    REPO_ROOT,
    action_files,
    deployment_problems,
    local_reference_problems,
    needs_problems,
    pinning_problems,
    rule_problems,
    workflow_files,
)

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
AWS = "aws-actions/configure-aws-credentials@b47578312673ae6fa5b5096b330d9fbac3d116df"


def load(path: Path) -> dict[str, Any]:
    """YAML as the linter sees it: through JSON, so the key `on` reads as "true"."""
    yaml = importlib.import_module("yaml")
    document: dict[str, Any] = json.loads(json.dumps(yaml.safe_load(path.read_text())))
    return document


@pytest.fixture(scope="module")
def documents() -> dict[Path, dict[str, Any]]:
    files = [*workflow_files(REPO_ROOT), *action_files(REPO_ROOT)]
    return {path.resolve(): load(path) for path in files}


def workflow(documents: dict[Path, dict[str, Any]], name: str) -> dict[str, Any]:
    return documents[(REPO_ROOT / ".github" / "workflows" / name).resolve()]


def test_repository_workflows_follow_the_rules(documents: dict[Path, dict[str, Any]]) -> None:
    assert rule_problems(REPO_ROOT, documents) == []


@pytest.mark.parametrize(
    ("case", "line", "problem"),
    [
        ("pinned with version", f"      - uses: {CHECKOUT} # v4.2.2", None),
        ("tag", "      - uses: actions/checkout@v4", "not pinned"),
        ("short sha", "      - uses: actions/checkout@11bd719", "not pinned"),
        ("no version comment", f"      - uses: {CHECKOUT}", "no '# vX.Y.Z' comment"),
    ],
)
def test_pinning_rule(case: str, line: str, problem: str | None) -> None:
    reference = line.split("uses: ", 1)[1].split(" #")[0]
    document = {"jobs": {"a": {"steps": [{"uses": reference}]}}}

    problems = pinning_problems(Path("w.yml"), f"jobs:\n{line}\n", document)

    assert (problems == []) if problem is None else (problem in problems[0])


def test_needs_rule_names_the_missing_job() -> None:
    document = {"jobs": {"plan": {}, "apply": {"needs": ["plan", "plann"]}}}

    assert needs_problems(Path("w.yml"), document) == [
        "w.yml: job 'apply' needs 'plann', which is not a job"
    ]


def test_reusable_workflow_inputs_must_match(tmp_path: Path) -> None:
    called = tmp_path / ".github" / "workflows" / "called.yml"
    called.parent.mkdir(parents=True)
    called.write_text("")
    called_document = {
        "true": {"workflow_call": {"inputs": {"environment": {"required": True}, "x": {}}}}
    }
    caller = {"jobs": {"go": {"uses": "./.github/workflows/called.yml", "with": {"env": "dev"}}}}
    documents = {called.resolve(): called_document}

    problems = local_reference_problems(Path("caller.yml"), caller, tmp_path, documents)

    assert problems == [
        "caller.yml: job 'go' passes undeclared input 'env'",
        "caller.yml: job 'go' omits required input 'environment'",
    ]


def test_missing_local_action_is_reported(tmp_path: Path) -> None:
    caller = {"jobs": {"go": {"steps": [{"uses": "./.github/actions/nope"}]}}}

    problems = local_reference_problems(Path("caller.yml"), caller, tmp_path, {})

    assert problems == ["caller.yml: local action './.github/actions/nope' has no action.yml"]


@pytest.mark.parametrize(
    ("case", "job", "problem"),
    [
        ("oidc without token", {"steps": [{"uses": AWS}]}, "without id-token: write"),
        (
            "oidc with token",
            {"permissions": {"id-token": "write"}, "steps": [{"uses": AWS}]},
            None,
        ),
        ("environment alone", {"environment": "prod"}, "without a concurrency group"),
        (
            "environment cancelling",
            {"environment": "prod", "concurrency": {"group": "g", "cancel-in-progress": True}},
            "without a concurrency group",
        ),
        ("environment queued", {"environment": "prod", "concurrency": {"group": "g"}}, None),
    ],
)
def test_deployment_rule(case: str, job: dict[str, Any], problem: str | None) -> None:
    problems = deployment_problems(Path("w.yml"), {"jobs": {"job": job}})

    assert (problems == []) if problem is None else (problem in problems[0])


def test_pipeline_applies_dev_then_staging_then_prod(
    documents: dict[Path, dict[str, Any]],
) -> None:
    jobs = workflow(documents, "platform.yml")["jobs"]

    chain = ["plan-dev", "apply-dev", "plan-staging", "apply-staging", "plan-prod", "apply-prod"]
    assert [jobs[job]["needs"] for job in chain[1:]] == chain[:-1]
    assert jobs["plan-dev"]["needs"] == "checks"
    assert [jobs[job]["with"]["environment"] for job in chain] == [
        "dev", "dev", "staging", "staging", "prod", "prod"
    ]  # fmt: skip
    assert "refs/heads/main" in jobs["plan-dev"]["if"]


def test_pull_requests_plan_every_environment_after_the_checks(
    documents: dict[Path, dict[str, Any]],
) -> None:
    platform = workflow(documents, "platform.yml")
    plan = platform["jobs"]["plan"]
    check_steps = [step.get("run", "") for step in platform["jobs"]["checks"]["steps"]]

    assert [item["environment"] for item in plan["strategy"]["matrix"]["include"]] == [
        "dev", "staging", "prod"
    ]  # fmt: skip
    assert "pull_request" in plan["if"]
    assert any("make test" in run for run in check_steps)
    assert any("make validate" in run for run in check_steps)
    assert any("scripts.policy_gate --refresh-plans" in run for run in check_steps)


def test_apply_runs_in_its_environment_with_oidc_and_no_keys(
    documents: dict[Path, dict[str, Any]],
) -> None:
    apply = workflow(documents, "apply-environment.yml")
    job = apply["jobs"]["apply"]
    credentials = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/"))

    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"]["group"] == "platform-apply-${{ inputs.environment }}"
    assert apply["permissions"]["id-token"] == "write"
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert "aws-access-key-id" not in credentials["with"]
    assert not any("AWS_SECRET_ACCESS_KEY" in json.dumps(doc) for doc in documents.values())


def test_plan_is_attached_to_the_run(documents: dict[Path, dict[str, Any]]) -> None:
    steps = workflow(documents, "plan-environment.yml")["jobs"]["plan"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))

    assert upload["with"]["name"] == "plan-${{ inputs.environment }}"
    assert "build/plan/${{ inputs.environment }}.tfplan" in upload["with"]["path"]
