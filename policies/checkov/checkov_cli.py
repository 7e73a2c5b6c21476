"""checkov in a virtual environment of its own, run offline on a plan's JSON.

checkov pins exact versions of boto3 and others that clash with the project's, so it lives in
``.local/checkov-venv``, created on first use (about a minute) and reused while the pin holds.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from policies.checkov.findings import Finding, GateInputError

CHECKOV_VERSION = "3.2.533"
CHECKOV_TIMEOUT_SECONDS = 600
# No Prisma Cloud mapping or guideline download: the gate runs with no network but PyPI.
OFFLINE_ENVIRONMENT = {"BC_SKIP_MAPPING": "TRUE", "CKV_IGNORE_HIDDEN_DIRECTORIES": "true"}


def ensure_checkov(venv: Path) -> Path:
    """The checkov executable of ``venv``, installing the pinned version when it is missing."""
    executable = venv / "bin" / "checkov"
    stamp = venv / f".installed-checkov-{CHECKOV_VERSION}"
    if stamp.is_file() and executable.is_file():
        return executable
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f".{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and executable.is_file():
            return executable
        print(
            f"policy_gate: installing checkov {CHECKOV_VERSION} into {venv} (first run only)",
            file=sys.stderr,
        )
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        result = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"checkov=={CHECKOV_VERSION}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise GateInputError(
                f"pip could not install checkov=={CHECKOV_VERSION}: {result.stderr.strip()}"
            )
        stamp.touch()
    return executable


def _reports(document: Any) -> list[dict[str, Any]]:
    reports = document if isinstance(document, list) else [document]
    if not all(isinstance(report, dict) for report in reports):
        raise GateInputError("checkov report: expected an object or a list of objects")
    return reports


def parse_checkov_report(text: str, environment: str) -> list[Finding]:
    """Findings of checkov's ``--output json``; raises GateInputError on any parse error.

    With no resource to check, checkov prints only a summary; that yields no finding, and
    the gate then fails on zero checks.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise GateInputError(f"{environment}: checkov printed no JSON report: {error}") from error
    findings: list[Finding] = []
    for report in _reports(document):
        results = report.get("results", {})
        summary = report.get("summary", report)
        errors = results.get("parsing_errors") or []
        if errors or summary.get("parsing_errors", 0):
            raise GateInputError(f"{environment}: checkov could not parse {errors or 'the plan'}")
        for key, passed in (("passed_checks", True), ("failed_checks", False)):
            for check in results.get(key, []):
                findings.append(
                    Finding(
                        check_id=str(check["check_id"]),
                        title=str(check.get("check_name", "")),
                        resource=str(check.get("resource_address") or check["resource"]),
                        passed=passed,
                        source="checkov",
                    )
                )
    return findings


def run_checkov(executable: Path, plan_json: Path, environment: str) -> list[Finding]:
    """checkov's terraform_plan checks on one plan; exit 1 only means some check failed."""
    command = [
        str(executable),
        "--framework",
        "terraform_plan",
        "--file",
        str(plan_json),
        "--skip-download",
        "--output",
        "json",
        "--compact",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=CHECKOV_TIMEOUT_SECONDS,
        env={**os.environ, **OFFLINE_ENVIRONMENT},
    )
    if result.returncode not in (0, 1):
        raise GateInputError(
            f"{environment}: checkov exited {result.returncode}: {result.stderr.strip()[-2000:]}"
        )
    return parse_checkov_report(result.stdout, environment)
