"""Settings of a synth run, from `PLATFORM_*` environment variables.

`target` says where the synthesized configuration will be planned or applied:
- `offline` (default): no AWS account; every provider endpoint points at a closed loopback
  port, so `terraform plan` works without credentials and no call can leave the machine;
- `emulator`: the local AWS emulator (`moto_server`) at `aws_endpoint_url` (by default on
  loopback at `PLATFORM_MOTO_PORT`, where `make up` starts it); its synth output
  and state default to `.local/emulator/`, apart from the offline ones, so that an offline
  plan never reads the emulator's state;
- `aws`: a real account with the credentials of the caller (CI uses OIDC role assumption).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from environments.loader import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
# A TCP port nothing listens on: an accidental API call fails at once, on this machine.
OFFLINE_ENDPOINT = "http://127.0.0.1:9"
EMULATOR_DIR = REPO_ROOT / ".local" / "emulator"
MIRROR_CANDIDATES: tuple[Path, ...] = (
    Path("/opt/tf-plugins"),
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
)
PROVIDER_SOURCE = Path("registry.terraform.io") / "hashicorp" / "aws"


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLATFORM_", frozen=True, extra="ignore")

    target: Literal["offline", "emulator", "aws"] = "offline"
    backend: Literal["local", "s3"] | None = None
    aws_endpoint_url: str = "http://127.0.0.1:5055"
    # The local platform's moto_server port (PLATFORM_MOTO_PORT): the endpoint's default. The
    # same range as scripts/platform_services/settings.py allows, which starts the server.
    moto_port: int = Field(default=5055, ge=1024, le=65535)
    out_dir: Path = REPO_ROOT / "cdktf.out"
    state_dir: Path = REPO_ROOT / ".local" / "state"
    build_dir: Path = REPO_ROOT / "build"
    tf_provider_mirror: Path | None = None

    @field_validator("aws_endpoint_url")
    @classmethod
    def _endpoint_url(cls, value: str) -> str:
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 (parsing the port is the check)
        except ValueError as exc:
            raise ValueError(f"has a bad port: {exc}") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host, such as http://127.0.0.1:5055")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("must be the endpoint's root URL: no path, query or fragment")
        return value

    @model_validator(mode="after")
    def _backend_default(self) -> PlatformSettings:
        if self.backend is None:
            object.__setattr__(self, "backend", "s3" if self.target == "aws" else "local")
        return self

    @model_validator(mode="after")
    def _endpoint_default(self) -> PlatformSettings:
        if "aws_endpoint_url" not in self.model_fields_set:
            object.__setattr__(self, "aws_endpoint_url", f"http://127.0.0.1:{self.moto_port}")
        return self

    @model_validator(mode="after")
    def _emulator_dirs(self) -> PlatformSettings:
        if self.target == "emulator":
            for name, default in (("out_dir", "cdktf.out"), ("state_dir", "state")):
                if name not in self.model_fields_set:
                    object.__setattr__(self, name, EMULATOR_DIR / default)
        return self

    @property
    def endpoint(self) -> str | None:
        """Where every AWS API call of the provider goes; None means the real AWS."""
        return {"offline": OFFLINE_ENDPOINT, "emulator": self.aws_endpoint_url}.get(self.target)


def find_provider_mirror(explicit: Path | None = None) -> Path:
    """The filesystem mirror that holds registry.terraform.io/hashicorp/aws.

    Order: PLATFORM_TF_PROVIDER_MIRROR, then the usual plugin directories; the first that
    holds the AWS provider wins. Raises with every place looked at when none does.
    """
    candidates = [explicit] if explicit else list(MIRROR_CANDIDATES)
    for candidate in candidates:
        if (candidate / PROVIDER_SOURCE).is_dir():
            return candidate
    if explicit:
        raise FileNotFoundError(
            f"PLATFORM_TF_PROVIDER_MIRROR = {str(explicit)!r} does not hold {PROVIDER_SOURCE}: "
            f"point it at the directory that does (the one above registry.terraform.io), or "
            f"unset it to look in {', '.join(str(c) for c in MIRROR_CANDIDATES)}"
        )
    looked = ", ".join(str(c) for c in candidates)
    hint = "set PLATFORM_TF_PROVIDER_MIRROR to the directory that holds " + str(PROVIDER_SOURCE)
    raise FileNotFoundError(
        f"no Terraform provider mirror with {PROVIDER_SOURCE} in: {looked}; {hint}"
    )


def load_settings() -> PlatformSettings:
    """The settings from the environment; a bad `PLATFORM_*` value raises ConfigError naming
    the variable, its value and what is allowed."""
    try:
        return PlatformSettings()
    except ValidationError as exc:
        problems = "\n  ".join(
            f"PLATFORM_{'_'.join(str(part) for part in error['loc']).upper() or 'SETTINGS'}"
            f" = {error['input']!r}: {str(error['msg']).removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid settings:\n  {problems}") from exc
