"""cdktf app: one stack `platform-<env>` per environment."""

from __future__ import annotations

import sys

from cdktf import App

from environments import ConfigError, load_all
from environments.settings import PlatformSettings, load_settings


def build_app(settings: PlatformSettings | None = None, outdir: str | None = None) -> App:
    """Build every environment's stack; tests call this and synthesize once."""
    configs = load_all()  # a bad config or setting fails here, before the bindings load
    settings = settings or load_settings()
    # Imported here so that `environments` stays importable without the provider bindings.
    from modules.platform_stack import PlatformStack
    from scripts.package_lambdas import build_packages

    packages = build_packages()
    app = App(outdir=outdir or str(settings.out_dir))
    for config in configs:
        PlatformStack(app, config, settings, packages)
    return app


def main() -> int:
    try:
        build_app().synth()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
