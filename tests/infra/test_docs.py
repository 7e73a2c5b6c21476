"""The README's generated blocks match what the code generates today."""

from __future__ import annotations

from scripts.docs import README, apply_blocks, render_blocks
from tests.infra.conftest import Stack


def test_readme_generated_blocks_match_the_code(stacks: dict[str, Stack]) -> None:
    text = README.read_text()
    expected = apply_blocks(text, render_blocks(stacks["dev"]))
    assert text == expected, "README is stale: run `make docs` and commit README.md"


def test_docs_architecture_names_every_construct(stacks: dict[str, Stack]) -> None:
    picture = render_blocks(stacks["dev"])["architecture"]
    for node in ("Network", "Edge", "BusinessApps", "Core", "Cache", "Identity"):
        assert f'{node}["' in picture
    assert "accounting, affiliate, crm, hr, inventory" in picture
    assert "Core --> BusinessApps" in picture
