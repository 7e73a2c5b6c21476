"""The emulator target's exclusion list: pinned, and what leave_out() does with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts.emulator_exclusions import EXCLUSIONS, IGNORED_DRIFT, Exclusion, leave_out

# Shrink these when moto learns a type; growing them needs a reason quoted from the emulator.
PINNED_EXCLUSIONS = {
    "aws_cloudwatch_event_target",
    "aws_db_instance",
    "aws_elasticache_replication_group",
    "aws_elasticache_user_group",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_policy",
}
PINNED_DRIFT = {
    "aws_autoscaling_policy",
    "aws_db_parameter_group",
    "aws_lambda_function",
    "aws_launch_template",
    "aws_vpc_security_group_ingress_rule",
}


def _stack() -> dict[str, Any]:
    """A small synthesized stack: a database read by a function, an alarm and a dashboard."""
    return {
        "provider": {"aws": [{"region": "eu-west-1"}]},
        "data": {
            "aws_iam_policy_document": {
                "Reads": {
                    "statement": [
                        {"resources": ["${aws_db_instance.Db.master_user_secret[0].secret_arn}"]}
                    ]
                }
            }
        },
        "resource": {
            "aws_db_instance": {"Db": {"identifier": "platform-dev-core-db", "port": 5432}},
            "aws_elasticache_user_group": {"Users": {"user_group_id": "users"}},
            "aws_elasticache_replication_group": {
                "Redis": {"user_group_ids": ["${aws_elasticache_user_group.Users.user_group_id}"]}
            },
            "aws_lambda_function": {
                "Fn": {
                    "environment": {
                        "variables": {
                            "CORE_DB_HOST": "${aws_db_instance.Db.address}",
                            "CORE_DB_URL": "postgres://${aws_db_instance.Db.address}:5432",
                        }
                    },
                    "depends_on": ["aws_db_instance.Db", "aws_sqs_queue.Dlq"],
                }
            },
            "aws_sqs_queue": {"Dlq": {"name": "dlq"}},
            "aws_cloudwatch_dashboard": {
                "Board": {
                    "dashboard_body": '${jsonencode({"m" = [aws_db_instance.Db.identifier]})}'
                }
            },
            "aws_cloudwatch_metric_alarm": {
                "DbPort": {"threshold": "${aws_db_instance.Db.port}"},
            },
            "aws_sns_topic": {"Alarms": {"name": "alarms"}},
        },
        "output": {
            "db_port": {"value": "${aws_db_instance.Db.port}"},
            "queue": {"value": "${aws_sqs_queue.Dlq.url}"},
        },
    }


def test_emulator_exclusions_list_does_not_grow() -> None:
    assert set(EXCLUSIONS) <= PINNED_EXCLUSIONS, (
        f"new emulator exclusions {sorted(set(EXCLUSIONS) - PINNED_EXCLUSIONS)}: fix the "
        "resource for the emulator, or pin it here with the emulator's error"
    )
    assert set(IGNORED_DRIFT) <= PINNED_DRIFT


@pytest.mark.parametrize("kind", sorted(EXCLUSIONS))
def test_emulator_exclusions_quote_the_emulator(kind: str) -> None:
    exclusion: Exclusion = EXCLUSIONS[kind]
    assert "`" in exclusion.error, f"{kind}: quote what the emulator answered"


def test_emulator_exclusions_leave_out_the_types_and_what_needs_them() -> None:
    filtered, report = leave_out(_stack())

    left_out = {item.address for item in report.left_out}
    assert left_out == {
        "aws_db_instance.Db",
        "aws_elasticache_user_group.Users",
        "aws_elasticache_replication_group.Redis",
        "aws_cloudwatch_metric_alarm.DbPort",
    }
    assert {"aws_elasticache_replication_group", "aws_db_instance"}.isdisjoint(filtered["resource"])
    reasons = {item.address: item.reason for item in report.left_out}
    assert reasons["aws_cloudwatch_metric_alarm.DbPort"] == "needs aws_db_instance.Db.port"
    assert report.removed_outputs == ["db_port"]
    assert set(filtered["output"]) == {"queue"}
    assert "aws_sns_topic" in filtered["resource"]


def test_emulator_exclusions_keep_readers_with_stand_ins() -> None:
    filtered, report = leave_out(_stack())

    function = filtered["resource"]["aws_lambda_function"]["Fn"]
    variables = function["environment"]["variables"]
    assert variables["CORE_DB_HOST"] == "left-out-platform-dev-core-db.invalid"
    assert variables["CORE_DB_URL"] == "postgres://left-out-platform-dev-core-db.invalid:5432"
    assert function["depends_on"] == ["aws_sqs_queue.Dlq"]
    board = filtered["resource"]["aws_cloudwatch_dashboard"]["Board"]["dashboard_body"]
    assert board == '${jsonencode({"m" = ["platform-dev-core-db"]})}'
    statement = filtered["data"]["aws_iam_policy_document"]["Reads"]["statement"][0]
    assert statement["resources"] == [
        "arn:aws:secretsmanager:eu-west-1:000000000000:secret:left-out-platform-dev-core-db"
    ]
    assert "aws_db_instance" not in json.dumps(filtered)
    assert set(report.stand_ins) == {
        "aws_lambda_function.Fn",
        "aws_cloudwatch_dashboard.Board",
        "data.aws_iam_policy_document.Reads",
    }


def test_emulator_exclusions_ignore_the_emulators_drift() -> None:
    stack = _stack()
    stack["resource"]["aws_lambda_function"]["Fn"]["lifecycle"] = {"create_before_destroy": True}

    filtered, report = leave_out(stack)

    lifecycle = filtered["resource"]["aws_lambda_function"]["Fn"]["lifecycle"]
    assert lifecycle == {"create_before_destroy": True, "ignore_changes": ["dead_letter_config"]}
    assert report.ignored_drift == {"aws_lambda_function": 1}


def test_emulator_exclusions_report_names_every_resource_left_out() -> None:
    _, report = leave_out(_stack())

    text = "\n".join(report.lines())
    for item in report.left_out:
        assert item.address in text
    assert "NotImplementedError: The create_user_group action" in text
    assert "left out output db_port" in text
