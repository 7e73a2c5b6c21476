"""Daily usage aggregation: ALB access logs and app usage events into usage rows."""
