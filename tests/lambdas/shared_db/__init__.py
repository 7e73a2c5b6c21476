"""Tests of the shared tenant data-access helper (lambdas/shared) against PostgreSQL."""
