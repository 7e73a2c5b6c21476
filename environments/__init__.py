"""Environment configurations: data validated at load, one TOML file per environment."""

from environments.config import APP_NAMES, AppConfig, EnvironmentConfig
from environments.loader import (
    ENVIRONMENT_NAMES,
    ConfigError,
    load_all,
    load_environment,
    parse_environment,
    read_document,
)

__all__ = [
    "APP_NAMES",
    "ENVIRONMENT_NAMES",
    "AppConfig",
    "ConfigError",
    "EnvironmentConfig",
    "load_all",
    "load_environment",
    "parse_environment",
    "read_document",
]
