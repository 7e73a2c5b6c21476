"""The AWS provider bindings load per resource module (modules/provider_bindings.py)."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest

from modules.provider_bindings import PACKAGE, load_per_module


def test_an_imported_package_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    eager = types.ModuleType(PACKAGE)
    monkeypatch.setitem(sys.modules, PACKAGE, eager)

    assert load_per_module() is False
    assert sys.modules[PACKAGE] is eager


def test_without_the_bindings_installed_nothing_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, PACKAGE, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)

    assert load_per_module() is False
    assert PACKAGE not in sys.modules


def test_the_package_is_registered_with_its_path_but_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, PACKAGE, raising=False)

    assert load_per_module() is True
    package = sys.modules[PACKAGE]
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None
    assert list(package.__path__) == list(spec.submodule_search_locations or [])
    assert not hasattr(package, "__all__")  # what the package __init__ defines
