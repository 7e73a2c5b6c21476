"""Creates CloudWatch alarms from `AlarmSpec` data, all notifying one topic."""

from __future__ import annotations

from collections.abc import Iterable

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

from modules.dashboard_bodies import AlarmSpec


def create_alarms(
    scope: Construct,
    name_prefix: str,
    specs: Iterable[AlarmSpec],
    dimensions: dict[str, dict[str, str]],
    topic_arn: str,
) -> list[CloudwatchMetricAlarm]:
    """One alarm per spec; `dimensions` maps a spec's `dimension` key to its dimension map."""
    alarms = []
    for spec in specs:
        percentile = spec.statistic.startswith("p")
        alarms.append(
            CloudwatchMetricAlarm(
                scope,
                f"Alarm{''.join(part.title() for part in spec.suffix.split('-'))}",
                alarm_name=f"{name_prefix}-{spec.suffix}",
                alarm_description=spec.description,
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=dimensions[spec.dimension],
                statistic=None if percentile else spec.statistic,
                extended_statistic=spec.statistic if percentile else None,
                period=spec.period_seconds,
                evaluation_periods=spec.evaluation_periods,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                treat_missing_data="notBreaching",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
            )
        )
    return alarms
