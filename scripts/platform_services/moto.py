"""`moto_server` on loopback, started in its own session with a pid file and a log."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from scripts.platform_services.settings import LOOPBACK, port_taken

READY_TIMEOUT_SECONDS = 30
# A moto_server of another checkout on our port may still be loading when we look.
FOREIGN_READY_TIMEOUT_SECONDS = 5
PROBE_TIMEOUT_SECONDS = 5
STOP_TIMEOUT_SECONDS = 10
# The dashboard page: static, so it answers at once however much the emulator holds.
# /moto-api/data.json serializes every model and answers HTTP 500 once a Lambda function
# exists (moto asks Docker about it: "DockerException: Error while fetching server API
# version"), which made a busy, healthy emulator look absent.
_PROBE_PATH = "/moto-api/"


class MotoError(RuntimeError):
    """moto_server could not be started or stopped."""


@dataclass(frozen=True)
class MotoServer:
    binary: Path
    port: int
    pid_file: Path
    log_file: Path

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def answers(self, timeout_seconds: float = PROBE_TIMEOUT_SECONDS) -> bool:
        """Whether a moto server answers on the port (ours or one started by someone else)."""
        try:
            with urllib.request.urlopen(
                self.endpoint + _PROBE_PATH, timeout=timeout_seconds
            ) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def port_taken(self) -> bool:
        return port_taken(self.port)

    def wait_until_answering(
        self,
        process: subprocess.Popen[bytes] | None = None,
        timeout_seconds: float = READY_TIMEOUT_SECONDS,
    ) -> None:
        """Wait for the server to answer; a busy machine makes a fresh moto_server slow."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise MotoError(
                    f"moto_server exited with {process.returncode} on port {self.port}; "
                    f"see {self.log_file}"
                )
            if self.answers():
                return
            time.sleep(0.2)
        raise MotoError(
            f"nothing answers as moto_server on {self.endpoint} within "
            f"{timeout_seconds:g} s (port taken: {self.port_taken()}); see {self.log_file}"
        )

    def own_pid(self) -> int | None:
        """The pid in our pid file if that process is alive and is a moto_server."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"moto_server" in cmdline else None

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [str(self.binary), "-H", LOOPBACK, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=_server_environment(),
            )
        self.pid_file.write_text(f"{process.pid}\n")
        try:
            self.wait_until_answering(process)
        except MotoError:
            self.stop()
            raise

    def stop(self) -> bool:
        """Stop our moto_server; False when there was none to stop."""
        pid = self.own_pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return True
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
        return True


def _server_environment() -> dict[str, str]:
    """moto leaves out the AWS managed IAM policies unless asked; the dev stack attaches some
    (AmazonSSMManagedInstanceCore, AmazonRDSEnhancedMonitoringRole), and without them
    `terraform apply` fails with "NoSuchEntity: Policy arn:aws:iam::aws:policy/... does not
    exist or is not attachable"."""
    return {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


def _is_zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] == "Z"
