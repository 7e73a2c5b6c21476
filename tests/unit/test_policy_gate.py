"""The policy gate: baseline logic on fabricated checkov reports, custom checks on small plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.checkov.baseline import (
    BASELINE_PATH,
    apply_baseline,
    load_baseline,
    parse_baseline,
    suggest_entries,
)
from policies.checkov.checkov_cli import parse_checkov_report
from policies.checkov.checks import CHECKS, run_checks
from policies.checkov.findings import Finding, GateInputError
from policies.checkov.hcl_literal import HclLiteralError, parse_jsonencode
from policies.checkov.plan import parse_plan
from scripts import policy_gate

ENVIRONMENTS = ("dev", "staging", "prod")
LOG_GROUP = "aws_cloudwatch_log_group.Logs_Group_0A1B2C3D"
BUCKET = "aws_s3_bucket.LogBucket_81C7223E"
REASON = "dev keeps logs 14 days by design; prod keeps them a year"


def checkov_report(passed: list[tuple[str, str]], failed: list[tuple[str, str]]) -> str:
    """A checkov ``--output json`` report with the given (check id, resource) results."""

    def result(check_id: str, resource: str, outcome: str) -> dict[str, Any]:
        return {
            "check_id": check_id,
            "check_name": f"title of {check_id}",
            "check_result": {"result": outcome, "evaluated_keys": ["x"]},
            "resource": resource,
            "resource_address": resource,
            "file_path": "/plan.json",
        }

    return json.dumps(
        {
            "check_type": "terraform_plan",
            "results": {
                "passed_checks": [result(c, r, "PASSED") for c, r in passed],
                "failed_checks": [result(c, r, "FAILED") for c, r in failed],
                "skipped_checks": [],
                "parsing_errors": [],
            },
            "summary": {
                "passed": len(passed),
                "failed": len(failed),
                "skipped": 0,
                "parsing_errors": 0,
                "resource_count": 2,
                "checkov_version": "3.2.533",
            },
        }
    )


def baseline(*entries: str) -> str:
    return "\n".join(entries)


def entry(check: str, resources: list[str], environments: list[str] | None = None) -> str:
    scoped = f"environments = {json.dumps(environments)}\n" if environments else ""
    return (
        f'[[exception]]\ncheck = "{check}"\nresources = {json.dumps(resources)}\n{scoped}'
        f'reason = "{REASON}"\n'
    )


def test_gate_new_failure_fails() -> None:
    findings = parse_checkov_report(checkov_report([], [("CKV_AWS_338", LOG_GROUP)]), "dev")

    outcome = apply_baseline(parse_baseline("", ENVIRONMENTS), {"dev": findings})

    assert not outcome.passed
    assert [(f.check_id, f.resource) for f in outcome.environments[0].new_failures] == [
        ("CKV_AWS_338", LOG_GROUP)
    ]


def test_gate_baselined_failure_passes() -> None:
    findings = parse_checkov_report(
        checkov_report([("CKV_AWS_18", BUCKET)], [("CKV_AWS_338", LOG_GROUP)]), "dev"
    )
    entries = parse_baseline(baseline(entry("CKV_AWS_338", [LOG_GROUP], ["dev"])), ENVIRONMENTS)

    outcome = apply_baseline(entries, {"dev": findings})

    assert outcome.passed
    assert [f.resource for f in outcome.environments[0].baselined] == [LOG_GROUP]
    assert outcome.environments[0].new_failures == ()


def test_gate_baseline_does_not_excuse_another_environment() -> None:
    report = checkov_report([], [("CKV_AWS_338", LOG_GROUP)])
    findings = {env: parse_checkov_report(report, env) for env in ("dev", "prod")}
    entries = parse_baseline(baseline(entry("CKV_AWS_338", [LOG_GROUP], ["dev"])), ENVIRONMENTS)

    outcome = apply_baseline(entries, findings)

    assert not outcome.passed
    assert [o.environment for o in outcome.environments if o.new_failures] == ["prod"]


def test_gate_stale_entry_fails_when_resource_passes() -> None:
    findings = parse_checkov_report(checkov_report([("CKV_AWS_338", LOG_GROUP)], []), "dev")
    entries = parse_baseline(baseline(entry("CKV_AWS_338", [LOG_GROUP])), ENVIRONMENTS)

    outcome = apply_baseline(entries, {"dev": findings})

    assert not outcome.passed
    assert [(s.check_id, s.resource, s.environment) for s in outcome.stale] == [
        ("CKV_AWS_338", LOG_GROUP, "dev")
    ]


def test_gate_entry_is_judged_only_in_checked_environments() -> None:
    findings = parse_checkov_report(checkov_report([], [("CKV_AWS_338", LOG_GROUP)]), "dev")
    entries = parse_baseline(baseline(entry("CKV_AWS_338", [LOG_GROUP])), ENVIRONMENTS)

    outcome = apply_baseline(entries, {"dev": findings})

    assert outcome.passed
    assert outcome.stale == ()


def test_gate_zero_checks_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    (plan_dir / "dev.json").write_text(json.dumps(small_plan([])))
    empty = json.dumps({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0})
    monkeypatch.setattr(policy_gate, "run_checkov", lambda *_: parse_checkov_report(empty, "dev"))
    path = tmp_path / "baseline.toml"
    path.write_text("")

    code = policy_gate.main(
        ["--env", "dev", "--plan-dir", str(plan_dir), "--baseline", str(path), "--checkov", "x"]
    )

    assert code == 1
    assert "dev: ERROR dev: checkov ran no check" in capsys.readouterr().out


def test_gate_passes_end_to_end_with_baselined_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    (plan_dir / "dev.json").write_text(json.dumps(small_plan([database("Db", protected=False)])))
    report = checkov_report(
        [("CKV_AWS_16", "aws_db_instance.Db")], [("CKV_AWS_293", "aws_db_instance.Db")]
    )
    monkeypatch.setattr(policy_gate, "run_checkov", lambda *_: parse_checkov_report(report, "dev"))
    monkeypatch.setattr(policy_gate, "run_checks", lambda _: [custom_finding(passed=True)])
    path = tmp_path / "baseline.toml"
    path.write_text(entry("CKV_AWS_293", ["aws_db_instance.Db"], ["dev"]))

    code = policy_gate.main(
        ["--env", "dev", "--plan-dir", str(plan_dir), "--baseline", str(path), "--checkov", "x"]
    )

    assert code == 0
    assert (
        "policy gate: PASSED: 1 environments, 3 results, 1 baselined, 0 new"
        in capsys.readouterr().out
    )


def custom_finding(passed: bool) -> Finding:
    return Finding("CKV_PLAT_2", "t", "aws_iam_policy.P", passed=passed, source="custom")


@pytest.mark.parametrize(
    ("case", "text", "message"),
    [
        ("not json", "checkov crashed\nTraceback", "no JSON report"),
        (
            "parsing errors listed",
            json.dumps({"results": {"parsing_errors": ["/plan.json"]}, "summary": {}}),
            "could not parse",
        ),
        (
            "parsing errors counted",
            json.dumps({"passed": 0, "failed": 0, "parsing_errors": 1}),
            "could not parse",
        ),
        ("a list of strings", json.dumps(["x"]), "expected an object"),
    ],
)
def test_checkov_report_parse_error_fails(case: str, text: str, message: str) -> None:
    with pytest.raises(GateInputError, match=message):
        parse_checkov_report(text, "dev")


def test_checkov_report_without_resources_yields_no_finding() -> None:
    summary = json.dumps({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0})

    assert parse_checkov_report(summary, "dev") == []


def test_checkov_report_reads_list_of_frameworks() -> None:
    one = json.loads(checkov_report([("CKV_AWS_18", BUCKET)], []))
    two = json.loads(checkov_report([], [("CKV_AWS_338", LOG_GROUP)]))

    findings = parse_checkov_report(json.dumps([one, two]), "dev")

    assert [(f.check_id, f.passed) for f in findings] == [
        ("CKV_AWS_18", True),
        ("CKV_AWS_338", False),
    ]


def raw_entry(resources: str = '["a.b"]', check: str = "CKV_AWS_18", **extra: str) -> str:
    """One baseline entry as TOML text; ``extra`` adds or replaces keys with raw TOML values."""
    keys = {"check": f'"{check}"', "resources": resources, "reason": f'"{REASON}"', **extra}
    return "[[exception]]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items())


@pytest.mark.parametrize(
    ("case", "text", "message"),
    [
        ("empty reason", raw_entry(reason='""'), "reason"),
        ("no resources", raw_entry("[]"), "at least one address"),
        ("wildcard address", raw_entry('["aws_s3_bucket.*"]'), "not a Terraform address"),
        ("bad check id", raw_entry(check="S3_LOGGING"), "not a check id"),
        ("unknown environment", raw_entry(environments='["qa"]'), "environments"),
        ("unknown key", raw_entry(expires="2027-01-01"), "unknown keys"),
        ("duplicate", entry("CKV_AWS_18", ["a.b"]) + entry("CKV_AWS_18", ["a.b"], ["dev"]), "both"),
        ("not toml", "[[exception]\n", "not valid TOML"),
    ],
)
def test_baseline_rejects_invalid_entries_naming_the_field(
    case: str, text: str, message: str
) -> None:
    with pytest.raises(GateInputError, match=message):
        parse_baseline(text, ENVIRONMENTS)


def test_baseline_file_of_the_repository_is_valid() -> None:
    entries = load_baseline(BASELINE_PATH, ENVIRONMENTS)

    assert all(len(e.reason) >= 20 and e.resources for e in entries)


def test_suggested_entries_need_a_reason_before_they_parse() -> None:
    findings = parse_checkov_report(checkov_report([], [("CKV_AWS_338", LOG_GROUP)]), "dev")
    outcome = apply_baseline([], {"dev": findings})

    suggestion = suggest_entries(outcome)

    assert f'"{LOG_GROUP}"' in suggestion
    with pytest.raises(GateInputError, match="reason"):
        parse_baseline(suggestion, ENVIRONMENTS)
    completed = suggestion.replace('reason = ""', f'reason = "{REASON}"')
    assert apply_baseline(parse_baseline(completed, ENVIRONMENTS), {"dev": findings}).passed


def small_plan(
    resources: list[dict[str, Any]], configuration: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A plan JSON with the given planned resources and configured expressions."""
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": resources}},
        "configuration": {"root_module": {"resources": configuration or []}},
    }


def planned(address: str, values: dict[str, Any]) -> dict[str, Any]:
    kind, name = address.removeprefix("data.").split(".")
    mode = "data" if address.startswith("data.") else "managed"
    return {"address": address, "mode": mode, "type": kind, "name": name, "values": values}


def configured(address: str, expressions: dict[str, Any]) -> dict[str, Any]:
    return {**planned(address, {}), "expressions": expressions}


def database(name: str, protected: bool) -> dict[str, Any]:
    return planned(f"aws_db_instance.{name}", {"deletion_protection": protected})


def failures(document: dict[str, Any], environment: str = "prod") -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for finding in run_checks(parse_plan(document, environment)):
        if not finding.passed:
            result.setdefault(finding.check_id, []).append(finding.resource)
    return result


def test_plat1_prod_database_without_deletion_protection_fails() -> None:
    document = small_plan([database("Core", protected=True), database("Crm", protected=False)])

    assert failures(document, "prod") == {"CKV_PLAT_1": ["aws_db_instance.Crm"]}


def test_plat1_applies_to_production_only() -> None:
    document = small_plan([database("Crm", protected=False)])

    assert [f for f in run_checks(parse_plan(document, "dev")) if f.check_id == "CKV_PLAT_1"] == []


def policy_resource(
    name: str, policy: str | None, expression: str | None = None
) -> list[dict[str, Any]]:
    address = f"aws_iam_role_policy.{name}"
    values = {"policy": policy} if policy is not None else {}
    expressions = {"policy": {"constant_value": expression}} if expression else {}
    return [planned(address, values), configured(address, expressions)]


def split(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return small_plan(
        [p for p in pairs if "expressions" not in p], [p for p in pairs if "expressions" in p]
    )


def known_policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    ("case", "statement", "failing"),
    [
        ("star action", allow("*", "arn:aws:s3:::b"), True),
        ("service star", allow(["s3:*"], ["arn:aws:s3:::b"]), True),
        ("not action", {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["*"]}, True),
        ("star resource scopable", allow(["s3:GetObject"], "*"), True),
        ("star resource required", allow(["xray:PutTraceSegments"], "*"), False),
        ("scoped", allow(["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:1:q"]), False),
        ("deny star", {"Effect": "Deny", "Action": "*", "Resource": "*"}, False),
        ("prefix wildcard", allow(["kms:GenerateDataKey*"], ["arn:k"]), False),
    ],
)
def test_plat2_known_policy(case: str, statement: dict[str, Any], failing: bool) -> None:
    document = split(policy_resource("Role_Policy", known_policy(statement)))

    assert ("CKV_PLAT_2" in failures(document)) is failing


def test_plat2_star_action_in_jsonencode_unknown_at_plan_fails() -> None:
    expression = (
        '${jsonencode({"Version" = "2012-10-17", "Statement" = [{"Effect" = "Allow", '
        '"Action" = "*", "Resource" = [aws_cloudwatch_log_group.Logs.arn, '
        '"${aws_cloudwatch_log_group.Logs.arn}:*"]}]})}'
    )
    document = split(policy_resource("Role_Policy", None, expression))

    assert failures(document) == {"CKV_PLAT_2": ["aws_iam_role_policy.Role_Policy"]}


def test_plat2_scoped_jsonencode_unknown_at_plan_passes() -> None:
    expression = (
        '${jsonencode({"Statement" = [{"Effect" = "Allow", "Action" = ["logs:PutLogEvents"], '
        '"Resource" = ["${aws_cloudwatch_log_group.Logs.arn}:*"]}]})}'
    )
    document = split(policy_resource("Role_Policy", None, expression))

    assert failures(document) == {}


def document_source(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return configured(
        "data.aws_iam_policy_document.Doc",
        {
            "statement": [
                {
                    "effect": {"constant_value": "Allow"},
                    "actions": {"constant_value": actions},
                    "resources": {"constant_value": resources},
                }
            ]
        },
    )


@pytest.mark.parametrize(
    ("case", "actions", "resources", "failing"),
    [
        ("star action", ["*"], ["${aws_sqs_queue.Q.arn}"], True),
        ("vpc interfaces on star", ["ec2:CreateNetworkInterface"], ["*"], False),
        ("queue on star", ["sqs:SendMessage"], ["*"], True),
        ("queue scoped", ["sqs:SendMessage"], ["${aws_sqs_queue.Q.arn}"], False),
    ],
)
def test_plat2_policy_document_read_from_configuration(
    case: str, actions: list[str], resources: list[str], failing: bool
) -> None:
    pairs = policy_resource("Role_Policy", None, "${data.aws_iam_policy_document.Doc.json}")
    document = split([*pairs, document_source(actions, resources)])

    assert ("CKV_PLAT_2" in failures(document)) is failing


def test_plat2_unreadable_policy_fails() -> None:
    document = split(policy_resource("Role_Policy", None, '${file("policy.json")}'))

    assert failures(document) == {"CKV_PLAT_2": ["aws_iam_role_policy.Role_Policy"]}


def test_plat2_administrator_attachment_fails() -> None:
    attachment = planned(
        "aws_iam_role_policy_attachment.Admin",
        {"policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )
    ssm = planned(
        "aws_iam_role_policy_attachment.Ssm",
        {"policy_arn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"},
    )

    assert failures(small_plan([attachment, ssm])) == {
        "CKV_PLAT_2": ["aws_iam_role_policy_attachment.Admin"]
    }


def target_group(name: str, health_check: list[dict[str, Any]] | None) -> dict[str, Any]:
    return planned(
        f"aws_lb_target_group.{name}", {"protocol": "HTTP", "health_check": health_check}
    )


def forward_rule(name: str, group: str) -> dict[str, Any]:
    reference = f"aws_lb_target_group.{group}"
    return configured(
        f"aws_lb_listener_rule.{name}",
        {
            "action": [
                {
                    "type": {"constant_value": "forward"},
                    "target_group_arn": {
                        "constant_value": f"${{{reference}.arn}}",
                        "references": [f"{reference}.arn", reference],
                    },
                }
            ]
        },
    )


@pytest.mark.parametrize(
    ("case", "health_check", "failing"),
    [
        ("enabled with path", [{"enabled": True, "path": "/crm/health"}], False),
        ("disabled", [{"enabled": False, "path": "/crm/health"}], True),
        ("no block", None, True),
        ("enabled without path", [{"enabled": True}], True),
    ],
)
def test_plat3_rule_forwarding_to_target_group(
    case: str, health_check: list[dict[str, Any]] | None, failing: bool
) -> None:
    document = small_plan([target_group("Crm", health_check)], [forward_rule("CrmRule", "Crm")])

    assert ("CKV_PLAT_3" in failures(document)) is failing


def test_plat3_weighted_forward_checks_every_target_group() -> None:
    groups = [target_group("Good", [{"enabled": True, "path": "/h"}]), target_group("Bad", None)]
    rule = configured(
        "aws_lb_listener_rule.Weighted",
        {
            "action": [
                {
                    "type": {"constant_value": "forward"},
                    "forward": [
                        {
                            "target_group": [
                                {"arn": {"references": ["aws_lb_target_group.Good"]}},
                                {"arn": {"references": ["aws_lb_target_group.Bad"]}},
                            ]
                        }
                    ],
                }
            ]
        },
    )

    findings = run_checks(parse_plan(small_plan(groups, [rule]), "dev"))

    assert [(f.resource, f.detail) for f in findings if not f.passed] == [
        ("aws_lb_listener_rule.Weighted", "aws_lb_target_group.Bad has no enabled health check")
    ]


def test_plat3_forward_to_target_group_outside_plan_fails() -> None:
    rule = configured(
        "aws_lb_listener_rule.External",
        {"action": [{"target_group_arn": {"constant_value": "arn:aws:elasticloadbalancing:x"}}]},
    )

    assert failures(small_plan([], [rule]), "dev") == {
        "CKV_PLAT_3": ["aws_lb_listener_rule.External"]
    }


def test_plat3_listener_without_forward_is_not_judged() -> None:
    listener = configured(
        "aws_lb_listener.Https",
        {"default_action": [{"type": {"constant_value": "fixed-response"}}]},
    )

    assert run_checks(parse_plan(small_plan([], [listener]), "dev")) == []


def test_checks_have_unique_ids_and_titles() -> None:
    assert [check.check_id for check in CHECKS] == ["CKV_PLAT_1", "CKV_PLAT_2", "CKV_PLAT_3"]
    assert all(len(check.title) > 20 for check in CHECKS)


@pytest.mark.parametrize(
    ("case", "document", "message"),
    [
        ("not a plan", {"resources": []}, "not the JSON of"),
        ("future format", {"format_version": "2.0"}, "format_version '2.0' is not supported"),
        ("errored plan", {"format_version": "1.2", "errored": True}, "the plan errored"),
    ],
)
def test_plan_parse_errors_fail(case: str, document: dict[str, Any], message: str) -> None:
    with pytest.raises(GateInputError, match=message):
        parse_plan(document, "dev")


def test_jsonencode_literal_keeps_references_distinct_from_star() -> None:
    value = parse_jsonencode(
        '${jsonencode({"A" = [aws_x.y.arn, "${aws_x.y.arn}:*", "*"], "B" = 5, "C" = true, '
        '"D" = {"E" = null}, "F" = "quote \\" and ${join("}", ["x"])}"})}'
    )

    assert value == {
        "A": ["${aws_x.y.arn}", "${aws_x.y.arn}:*", "*"],
        "B": 5,
        "C": True,
        "D": {"E": None},
        "F": 'quote " and ${join("}", ["x"])}',
    }


def test_jsonencode_literal_rejects_other_expressions() -> None:
    with pytest.raises(HclLiteralError):
        parse_jsonencode('${file("policy.json")}')


def test_list_baseline_prints_every_entry_as_a_table_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "baseline.toml"
    path.write_text(entry("CKV_AWS_338", [LOG_GROUP, BUCKET], ["dev", "staging"]))

    code = policy_gate.main(["--baseline", str(path), "--list-baseline"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == "| check | environments | resources | reason |"
    assert lines[2] == (f"| CKV_AWS_338 | dev, staging | `{LOG_GROUP}`<br>`{BUCKET}` | {REASON} |")
