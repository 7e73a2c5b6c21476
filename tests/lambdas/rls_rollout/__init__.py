"""Tests of the RLS rollout Lambda against the local PostgreSQL server."""
