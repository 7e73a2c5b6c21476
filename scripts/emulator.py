"""Deploy an environment into the local AWS emulator (`moto_server`) with `terraform apply`.

    python -m scripts.emulator deploy     # synth with PLATFORM_TARGET=emulator, apply dev
    python -m scripts.emulator outputs    # the deployed stack's outputs, as JSON

The configuration is the one `make synth` writes, synthesized with `PLATFORM_TARGET=emulator`
(every provider endpoint on the emulator); what the emulator cannot create is left out by
scripts/emulator_exclusions.py, each resource named. State stays under `.local/emulator/`.

Apply is safe to repeat: a second run changes nothing, a run after a failure finishes the
work. Two things make that hold on an emulator that is not AWS:

- moto keeps everything in memory: when it was restarted since the last apply, the state
  describes resources that are gone, so it is set aside and the stack applied afresh;
- `make up` creates the log and document buckets before anything is deployed (the tests need
  them): buckets that the emulator already holds and the state does not are imported.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environments import load_environment
from environments.settings import PlatformSettings
from scripts import tf
from scripts.emulator_exclusions import Config, FilterReport, LeftOut, leave_out

Echo = Callable[[str], None]
ENVIRONMENT = "dev"
# Provider waiters make some creations slow (ALB and S3 lifecycle about 60 s, ACM validation
# about 30 s); with every independent resource in flight at once they overlap.
APPLY_PARALLELISM = 64
PROGRESS_SECONDS = 15.0
# A fresh apply takes about three minutes here. moto answers some calls with HTTP 500, which
# the provider retries for a long time; past this, the apply is stopped and says on what.
APPLY_TIMEOUT_SECONDS = 600.0
STOP_GRACE_SECONDS = 20.0
ADOPT_FILE = "emulator_adopt.tf.json"
FILTER_MARK = "emulator_left_out"
MANAGED_POLICY_PROBE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


class EmulatorError(RuntimeError):
    """The emulator cannot take the deployment; the message says why and what to do."""


@dataclass
class Deployment:
    environment: str
    directory: Path
    report: FilterReport
    resources: int = 0
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    imported: list[str] = field(default_factory=list)
    state_reset: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


def settings_for(endpoint: str) -> PlatformSettings:
    """Emulator settings for a `moto_server` endpoint (local platform's AWS_ENDPOINT_URL)."""
    return PlatformSettings(target="emulator", aws_endpoint_url=endpoint)


def synth(settings: PlatformSettings) -> None:
    """Synthesize every stack with the emulator target (main.build_app, as `make synth`)."""
    from main import build_app

    _require_emulator(settings)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    build_app(settings).synth()


def prepare(settings: PlatformSettings, environment: str = ENVIRONMENT) -> tuple[Path, Config]:
    """Leave out of the synthesized stack what the emulator cannot create (once per synth)."""
    _require_emulator(settings)
    directory = tf.stack_dir(settings, environment)
    path = directory / "cdk.tf.json"
    config: Config = json.loads(path.read_text())
    if FILTER_MARK not in config.get("//", {}):
        config, report = leave_out(config)
        config.setdefault("//", {})[FILTER_MARK] = {
            "left_out": [[item.address, item.reason] for item in report.left_out],
            "outputs": report.removed_outputs,
            "stand_ins": report.stand_ins,
        }
        path.write_text(json.dumps(config, indent=2) + "\n")
    return directory, config


def filter_report(config: Config) -> FilterReport:
    recorded = config["//"][FILTER_MARK]
    return FilterReport(
        left_out=[LeftOut(address, reason) for address, reason in recorded["left_out"]],
        stand_ins={key: list(value) for key, value in recorded["stand_ins"].items()},
        removed_outputs=list(recorded["outputs"]),
    )


def deploy(
    settings: PlatformSettings, environment: str = ENVIRONMENT, echo: Echo = print
) -> Deployment:
    """Apply one synthesized environment into the emulator; returns what changed."""
    directory, config = prepare(settings, environment)
    deployment = Deployment(environment, directory, filter_report(config))
    deployment.resources = sum(len(named) for named in config.get("resource", {}).values())
    clients = _Clients(settings, load_environment(environment).region)
    clients.check_ready()

    tf.init(settings, environment)
    deployment.state_reset = _forget_lost_state(settings, environment, clients)
    if deployment.state_reset:
        echo(f"state set aside: {deployment.state_reset}")
    deployment.imported = _adopt_buckets(settings, environment, directory, config, clients)
    for address in deployment.imported:
        echo(f"importing {address}: the emulator holds it already (created by make up)")

    summary = _apply(settings, directory, echo)
    deployment.added, deployment.changed, deployment.destroyed = summary
    deployment.outputs = outputs(settings, environment)
    return deployment


def outputs(settings: PlatformSettings, environment: str = ENVIRONMENT) -> dict[str, Any]:
    """The stack's outputs, name -> value, from the emulator's state."""
    text = tf.run(["output", "-json"], tf.stack_dir(settings, environment), settings)
    return {name: item["value"] for name, item in json.loads(text).items()}


def _require_emulator(settings: PlatformSettings) -> None:
    if settings.target != "emulator":
        raise EmulatorError(f"PLATFORM_TARGET is {settings.target!r}; this needs 'emulator'")


class _Clients:
    """boto3 clients on the emulator, with its dummy credentials."""

    def __init__(self, settings: PlatformSettings, region: str) -> None:
        self.endpoint = settings.aws_endpoint_url
        self.region = region

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def check_ready(self) -> None:
        from botocore.exceptions import ClientError, EndpointConnectionError

        try:
            self.client("iam").get_policy(PolicyArn=MANAGED_POLICY_PROBE)
        except EndpointConnectionError as error:
            raise EmulatorError(
                f"no emulator answers on {self.endpoint}: start it with `make up`"
            ) from error
        except ClientError as error:
            raise EmulatorError(
                f"the emulator on {self.endpoint} has no AWS managed IAM policies (it was "
                "started without MOTO_IAM_LOAD_MANAGED_POLICIES=true, which the stack's role "
                "attachments need): restart it with `make down && make up`"
            ) from error

    def vpc_exists(self, vpc_id: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client("ec2").describe_vpcs(VpcIds=[vpc_id])
        except ClientError:
            return False
        return True

    def buckets(self) -> set[str]:
        found = self.client("s3").list_buckets().get("Buckets", [])
        return {str(bucket["Name"]) for bucket in found}


def _state_file(settings: PlatformSettings, environment: str) -> Path:
    return settings.state_dir / f"{load_environment(environment).stack_id}.tfstate"


def _state_resources(settings: PlatformSettings, environment: str) -> list[dict[str, Any]]:
    path = _state_file(settings, environment)
    if not path.is_file():
        return []
    resources: list[dict[str, Any]] = json.loads(path.read_text()).get("resources", [])
    return [item for item in resources if item.get("mode") == "managed"]


def _forget_lost_state(
    settings: PlatformSettings, environment: str, clients: _Clients
) -> str | None:
    """Set the state aside when the emulator lost what it describes (moto was restarted)."""
    resources = _state_resources(settings, environment)
    vpcs = [
        instance["attributes"]["id"]
        for item in resources
        if item["type"] == "aws_vpc"
        for instance in item.get("instances", [])
    ]
    if not vpcs or all(clients.vpc_exists(vpc) for vpc in vpcs):
        return None
    path = _state_file(settings, environment)
    aside = path.with_name(f"{path.name}.lost-{time.strftime('%Y%m%dT%H%M%S')}")
    path.rename(aside)
    path.with_name(f"{path.name}.backup").unlink(missing_ok=True)
    return (
        f"the emulator no longer holds {vpcs[0]} (restarted since the last apply, and it keeps "
        f"everything in memory); the old state is {aside.name}, applying afresh"
    )


def _adopt_buckets(
    settings: PlatformSettings,
    environment: str,
    directory: Path,
    config: Config,
    clients: _Clients,
) -> list[str]:
    """Import blocks for buckets the emulator holds and the state does not know."""
    managed = {f"{item['type']}.{item['name']}" for item in _state_resources(settings, environment)}
    existing = clients.buckets()
    imports = [
        {"to": f"aws_s3_bucket.{name}", "id": body["bucket"]}
        for name, body in sorted(config.get("resource", {}).get("aws_s3_bucket", {}).items())
        if body.get("bucket") in existing and f"aws_s3_bucket.{name}" not in managed
    ]
    adopt = directory / ADOPT_FILE
    if imports:
        adopt.write_text(json.dumps({"import": imports}, indent=2) + "\n")
    else:
        adopt.unlink(missing_ok=True)
    return [item["to"] for item in imports]


def _apply(settings: PlatformSettings, directory: Path, echo: Echo) -> tuple[int, int, int]:
    """`terraform apply -json`, with a progress line every PROGRESS_SECONDS; stopped when it
    runs longer than APPLY_TIMEOUT_SECONDS."""
    command = [
        "terraform",
        "apply",
        "-auto-approve",
        "-input=false",
        "-json",
        f"-parallelism={APPLY_PARALLELISM}",
    ]
    progress = _Progress(echo)
    errors: list[str] = []
    summary = (0, 0, 0)
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=tf.terraform_env(settings),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert process.stdout is not None
        stopped = threading.Event()
        watchdog = threading.Timer(APPLY_TIMEOUT_SECONDS, _stop, (process, stopped))
        watchdog.daemon = True
        watchdog.start()
        try:
            for message in _messages(process.stdout):
                kind = message.get("type")
                if kind == "diagnostic" and message["diagnostic"].get("severity") == "error":
                    errors.append(_diagnostic(message["diagnostic"]))
                elif kind == "change_summary":
                    changes = message["changes"]
                    summary = (changes["add"], changes["change"], changes["remove"])
                else:
                    progress.update(message)
            returncode = process.wait()
        finally:
            watchdog.cancel()
        stderr.seek(0)
        output = stderr.read().strip()
    if stopped.is_set():
        errors.append(
            f"  stopped after {APPLY_TIMEOUT_SECONDS:.0f} s, still waiting on "
            f"{', '.join(progress.running) or 'nothing'}: the emulator keeps answering a "
            "call the provider retries. `make down && make demo` starts a fresh emulator "
            "(the state is set aside)."
        )
    if returncode != 0:
        reasons = "\n".join(errors) or output or f"exit {returncode}"
        raise tf.TerraformError(f"terraform apply into the emulator failed:\n{reasons}")
    return summary


def _stop(process: subprocess.Popen[str], stopped: threading.Event) -> None:
    """Interrupt terraform as Ctrl-C does (it releases the state lock); kill it if it hangs."""
    stopped.set()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()


def _messages(stream: Any) -> Iterator[dict[str, Any]]:
    for line in stream:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(message, dict):
            yield message


def _diagnostic(diagnostic: dict[str, Any]) -> str:
    address = diagnostic.get("address", "")
    text = f"{diagnostic.get('summary', '')}: {diagnostic.get('detail', '')}".strip(": ")
    return f"  {address}: {text}" if address else f"  {text}"


def _no_op(change: dict[str, Any]) -> bool:
    """A planned change that applies nothing: a data source read, or a resource left as is."""
    return change.get("action") in ("read", "no-op")


class _Progress:
    """Counts what terraform read back and changed; says what it waits on now and then."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.refreshed = 0
        self.planned = 0
        self.done = 0
        self.running: dict[str, float] = {}
        self.started = self.last = time.monotonic()

    def update(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        # Hooks carry the resource under "hook", planned changes under "change".
        body = message.get("hook") or message.get("change") or {}
        address = str(body.get("resource", {}).get("addr", ""))
        if address.startswith("data.") or (kind == "planned_change" and _no_op(body)):
            return
        if kind == "refresh_complete":
            self.refreshed += 1
        elif kind == "planned_change":
            self.planned += 1
        elif kind == "apply_start":
            self.running[address] = time.monotonic()
        elif kind in ("apply_complete", "apply_errored"):
            self.running.pop(address, None)
            self.done += 1
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        elapsed = f"{now - self.started:.0f} s"
        if not self.planned:
            self.echo(f"apply: {self.refreshed} resources read back from the emulator ({elapsed})")
        elif self.running:
            slowest = sorted(self.running.items(), key=lambda item: item[1])[:3]
            waiting = ", ".join(f"{name} ({now - since:.0f} s)" for name, since in slowest)
            self.echo(
                f"apply: {self.done}/{self.planned} changes done ({elapsed}); waiting on {waiting}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["deploy", "outputs"])
    parser.add_argument("--endpoint", default=PlatformSettings().aws_endpoint_url)
    args = parser.parse_args(argv)
    settings = settings_for(args.endpoint)
    try:
        if args.command == "outputs":
            print(json.dumps(outputs(settings), indent=2))
            return 0
        synth(settings)
        deployment = deploy(settings)
    except (EmulatorError, tf.TerraformError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in deployment.report.lines():
        print(line)
    print(
        f"apply {deployment.environment}: {deployment.added} added, {deployment.changed} "
        f"changed, {deployment.destroyed} destroyed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
