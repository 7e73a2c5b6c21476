"""A Lambda context for running handlers in-process (demo, benchmarks, tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass
class LocalContext:
    """The attributes powertools reads from a real `LambdaContext`."""

    function_name: str = "local"
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def lambda_context(function_name: str, memory_limit_in_mb: int = 256) -> LambdaContext:
    """A `LocalContext` typed as the `LambdaContext` that handlers are annotated with."""
    context = LocalContext(function_name=function_name, memory_limit_in_mb=memory_limit_in_mb)
    return cast("LambdaContext", context)
