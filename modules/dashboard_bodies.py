"""CloudWatch dashboard bodies and alarm definitions as plain data (no cdktf import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Widget = dict[str, Any]


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm: which metric, which statistic, and when it fires."""

    suffix: str
    namespace: str
    metric: str
    dimension: str
    statistic: str
    threshold: float
    comparison: str = "GreaterThanOrEqualToThreshold"
    period_seconds: int = 300
    evaluation_periods: int = 2
    description: str = ""


def metric_widget(title: str, region: str, metrics: list[list[Any]], x: int, y: int) -> Widget:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "metrics": metrics,
            "view": "timeSeries",
            "stat": "Sum",
            "period": 300,
        },
    }


def app_dashboard(
    app: str, region: str, alb_suffix: str, tg_suffix: str, asg_name: str, db_identifier: str
) -> dict[str, Any]:
    """Requests, errors and latency at the load balancer; CPU of instances and database."""
    lb = ["LoadBalancer", alb_suffix, "TargetGroup", tg_suffix]
    widgets = [
        metric_widget(
            f"{app}: requests and 5xx",
            region,
            [
                ["AWS/ApplicationELB", "RequestCount", *lb],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb],
            ],
            0,
            0,
        ),
        metric_widget(
            f"{app}: target response time p95",
            region,
            [
                ["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": "p95"}],
            ],
            12,
            0,
        ),
        metric_widget(
            f"{app}: instance CPU",
            region,
            [
                [
                    "AWS/EC2",
                    "CPUUtilization",
                    "AutoScalingGroupName",
                    asg_name,
                    {"stat": "Average"},
                ],
            ],
            0,
            6,
        ),
        metric_widget(
            f"{app}: database",
            region,
            [
                [
                    "AWS/RDS",
                    "CPUUtilization",
                    "DBInstanceIdentifier",
                    db_identifier,
                    {"stat": "Average"},
                ],
                [
                    "AWS/RDS",
                    "DatabaseConnections",
                    "DBInstanceIdentifier",
                    db_identifier,
                    {"stat": "Maximum", "yAxis": "right"},
                ],
            ],
            12,
            6,
        ),
    ]
    return {"widgets": widgets}


def platform_dashboard(
    region: str, alb_suffix: str, apps: list[str], namespace: str
) -> dict[str, Any]:
    """One page for the whole platform: edge traffic, WAF blocks and per-app usage totals."""
    widgets = [
        metric_widget(
            "edge: requests, 4xx, 5xx",
            region,
            [
                ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb_suffix],
                ["AWS/ApplicationELB", "HTTPCode_ELB_4XX_Count", "LoadBalancer", alb_suffix],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb_suffix],
            ],
            0,
            0,
        ),
        metric_widget(
            "usage: requests per app (daily job)",
            region,
            [[namespace, "requests", "app", app] for app in apps],
            12,
            0,
        ),
    ]
    return {"widgets": widgets}
