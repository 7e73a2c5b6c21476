"""cdktf app: one stack `platform-<env>` per environment."""

from __future__ import annotations

from cdktf import App

from environments import load_all
from environments.settings import PlatformSettings, load_settings


def build_app(settings: PlatformSettings | None = None, outdir: str | None = None) -> App:
    """Build every environment's stack; tests call this and synthesize once."""
    # Imported here so that `environments` stays importable without the provider bindings.
    from modules.platform_stack import PlatformStack
    from scripts.package_lambdas import build_packages

    settings = settings or load_settings()
    packages = build_packages()
    app = App(outdir=outdir or str(settings.out_dir))
    for config in load_all():
        PlatformStack(app, config, settings, packages)
    return app


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
