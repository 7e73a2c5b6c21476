"""Runs a tenant's work as named steps, each done once and recorded on the tenant row.

A step has an optional part outside the core database (AWS, an app database), which must be
safe to repeat, and an optional part inside it, committed in one transaction with the step's
record and the renewal of the request's lease. A step already recorded is skipped, so a retry
resumes after the last finished step. An error stops the run and is recorded (step, reason)
with the lease released; a request that dies leaves its lease to expire.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
from aws_lambda_powertools import Logger

from lambdas.shared.db import Cursor
from lambdas.tenant_onboarding import aws, repository
from lambdas.tenant_onboarding.connections import core
from lambdas.tenant_onboarding.errors import in_progress, unfinished
from lambdas.tenant_onboarding.repository import LeaseLostError, StepColumn

logger = Logger(child=True)


def _nothing() -> None:
    return None


def _no_writes(cur: Cursor, outside_result: Any) -> None:
    return None


@dataclass(frozen=True)
class Step:
    name: str
    outside: Callable[[], Any] = _nothing
    inside: Callable[[Cursor, Any], None] = _no_writes


class StepFailedError(RuntimeError):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"step {step} failed: {reason}")
        self.step = step
        self.reason = reason


def failure_reason(error: BaseException) -> str:
    """What went wrong, for the tenant row and the logs: an AWS error code, a SQLSTATE, or
    the message of one of this package's own errors; never a driver's full message."""
    code = aws.error_code(error)
    if code:
        operation = getattr(error, "operation_name", "AWS")
        return f"{operation}: {code}"
    if isinstance(error, psycopg2.Error):
        return f"database error {error.pgcode or type(error).__name__}"
    if type(error).__module__.startswith("lambdas."):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__


@dataclass
class StepRunner:
    tenant_id: uuid.UUID
    owner: uuid.UUID
    column: StepColumn | None
    done: frozenset[str]
    failed_status: str

    def run(self, steps: Sequence[Step]) -> None:
        for step in steps:
            if step.name in self.done:
                continue
            try:
                self.run_step(step)
            except LeaseLostError:
                raise
            except Exception as exc:
                reason = failure_reason(exc)
                logger.exception("tenant step failed", extra={"step": step.name, "reason": reason})
                self._record_failure(step.name, reason)
                raise StepFailedError(step.name, reason) from exc
            self.done = self.done | {step.name}

    def run_for_request(self, steps: Sequence[Step], stopped: str) -> None:
        """`run`, with its two ways of stopping turned into the API errors a request answers
        with: a failed step (`stopped`, the step and the status the tenant is left in) or a
        lease lost to another request (in progress)."""
        try:
            self.run(steps)
        except StepFailedError as exc:
            raise unfinished(
                stopped, str(self.tenant_id), exc.step, self.failed_status, exc.reason
            ) from exc
        except LeaseLostError as exc:
            raise in_progress() from exc

    def run_step(self, step: Step) -> None:
        result = step.outside()
        with core().as_control_plane() as cur:
            # Recorded first: the last step of a run releases the lease that this checks.
            repository.record_step(cur, self.tenant_id, self.owner, self.column, step.name)
            step.inside(cur, result)
        logger.info("tenant step done", extra={"step": step.name})

    def _record_failure(self, step: str, reason: str) -> None:
        try:
            with core().as_control_plane() as cur:
                repository.mark_failed(
                    cur, self.tenant_id, self.owner, self.failed_status, step, reason
                )
        except Exception:
            # The lease then expires on its own and a retry resumes at this step.
            logger.exception("could not record the failed step", extra={"step": step})
