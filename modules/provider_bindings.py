"""Load the AWS provider bindings one resource module at a time.

`cdktf_cdktf_provider_aws/__init__.py` imports all 2,135 resource modules of the provider
before any one of them can be used: about 16 s and 450 MB of Python objects on a 2-core
machine, most of a synth's time and memory, for the 76 modules the stacks import (154 with
the modules those import for their own types). `load_per_module()` registers the package
with its search path but without running its `__init__`, so that
`from cdktf_cdktf_provider_aws.vpc import Vpc` imports that module and what it imports.

Nothing a resource module needs is skipped: each one loads the jsii assembly itself
(`from .._jsii import *`) and imports the modules its types come from. What the package
`__init__` adds is only the eager imports and `publication.publish()`, which hides its
non-public names. The synthesized JSON of every environment is byte-identical either way.

Limitation: jsii knows a type only once its module is imported. If the kernel ever returned
an object of a type from a module nobody imported, jsii would raise `Unknown type: ...` at
synth (loudly, never a wrong plan); the test session synthesizes every environment, so such
a change fails the tests. Workaround: import that module in the construct that uses it.
Newer jsii-pacmak generates lazily loading packages itself (PEP 562), which would make this
module unnecessary: https://github.com/aws/jsii/blob/main/packages/%40jsii/python-runtime/src/jsii/_reference_map.py
"""

from __future__ import annotations

import importlib.util
import sys

PACKAGE = "cdktf_cdktf_provider_aws"


def load_per_module() -> bool:
    """Register the bindings' package without its eager `__init__`; True if this call did.

    Does nothing when the package is already imported (its modules are all loaded then)
    or not installed (the Lambda functions and scripts that only use `modules.naming`).
    """
    if PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return False
    sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)
    return True
