"""Loading the AWS provider bindings per module (modules/provider_bindings.py) changes nothing
in what synth writes: a synth that first imports the whole package, as cdktf apps usually do,
gives the same Terraform JSON for every environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from environments import ENVIRONMENT_NAMES, load_environment
from environments.settings import REPO_ROOT
from modules.provider_bindings import PACKAGE
from tests.infra.conftest import Stack

# `import cdktf_cdktf_provider_aws` runs the package's own __init__ (every resource module,
# and `__all__`); modules/__init__.py then finds the package imported and leaves it alone.
EAGER_SYNTH = (
    "import sys, cdktf_cdktf_provider_aws as aws, main; "
    "assert hasattr(aws, '__all__'); sys.exit(main.main())"
)


def test_synth_with_eagerly_imported_bindings_is_identical(
    stacks: dict[str, Stack], synth_dir: Path, tmp_path: Path
) -> None:
    assert not hasattr(sys.modules[PACKAGE], "__all__"), "the session synth loaded per module"
    env = {
        **os.environ,
        "PLATFORM_OUT_DIR": str(tmp_path),
        "PLATFORM_BUILD_DIR": str(tmp_path / "build"),
        "PLATFORM_STATE_DIR": str(tmp_path / "state"),
    }
    for name in ("PLATFORM_TARGET", "PLATFORM_BACKEND"):
        env.pop(name, None)  # the session synth uses the default (offline, local) settings

    subprocess.run(
        [sys.executable, "-c", EAGER_SYNTH],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )

    for name in ENVIRONMENT_NAMES:
        written = tmp_path / "stacks" / load_environment(name).stack_id / "cdk.tf.json"
        eager = json.loads(written.read_text().replace(str(tmp_path), str(synth_dir)))
        assert eager == stacks[name], f"{name}: eager and per-module synth differ"
