"""Constructs of the platform stacks.

The AWS provider bindings load one resource module at a time (see provider_bindings): this
runs before any construct module imports them.
"""

from modules.provider_bindings import load_per_module

load_per_module()
