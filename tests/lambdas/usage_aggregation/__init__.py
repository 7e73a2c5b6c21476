"""Tests of the usage aggregation job."""
