"""Lambda packages are deterministic: same source, same bytes and hash, wherever it is built."""

from __future__ import annotations

import email
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scripts.package_lambdas import (
    DIRECT_UPLOAD_LIMIT_BYTES,
    FIXED_DATE_TIME,
    FUNCTIONS,
    REPO_ROOT,
    Package,
    PackagingError,
    build_code_package,
    build_layer_package,
    build_packages,
    source_code_hash,
)

REQUIREMENTS = REPO_ROOT / "lambdas" / "requirements.txt"
# Distributions the python3.12 Lambda runtime provides, so the layer leaves them out.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}
SOURCE_FILES = {
    "lambdas/__init__.py": "",
    "lambdas/shared/__init__.py": "",
    "lambdas/shared/db.py": "def connect() -> None:\n    return None\n",
    "lambdas/shared/migrations/0001_core.sql": "create table tenants (tenant_id uuid);\n",
    "lambdas/shared/tests/test_db.py": "def test_nothing() -> None: ...\n",
    "lambdas/shared/__pycache__/db.cpython-311.pyc": "bytecode",
    "lambdas/shared/.db.py.swp": "editor swap file",
    "lambdas/shared/notes.md": "not code",
    "lambdas/requirements.txt": "pydantic==2.13.4\n",
    **{f"lambdas/{name}/__init__.py": "" for name in FUNCTIONS},
    **{f"lambdas/{name}/handler.py": f"NAME = {name!r}\n" for name in FUNCTIONS},
}


def write_tree(root: Path, mtime: float, file_mode: int) -> Path:
    for relative, text in SOURCE_FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(file_mode)
        os.utime(path, (mtime, mtime))
    return root


@pytest.fixture
def two_checkouts(tmp_path: Path) -> tuple[Path, Path]:
    """The same source at two paths of different depth, mtimes and permissions."""
    first = write_tree(tmp_path / "a", mtime=1_600_000_000, file_mode=0o644)
    second = write_tree(tmp_path / "deeper" / "checkout-b", mtime=1_700_000_000, file_mode=0o755)
    return first, second


@pytest.fixture(scope="session")
def layer() -> Package:
    """The dependencies layer, built once per session from the cache under build/lambda."""
    return build_layer_package(REQUIREMENTS, REPO_ROOT / "build" / "lambda")


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] = ord("\n") if data[-1] != ord("\n") else ord(" ")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_code_package_same_bytes_when_built_twice(tmp_path: Path, function: str) -> None:
    source = write_tree(tmp_path / "src", mtime=1_600_000_000, file_mode=0o644)

    first = build_code_package(source, function, tmp_path / "out1")
    os.utime(source / "lambdas" / "shared" / "db.py", (1_800_000_000, 1_800_000_000))
    second = build_code_package(source, function, tmp_path / "out2")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.source_code_hash == second.source_code_hash


@pytest.mark.parametrize("function", FUNCTIONS)
def test_code_package_same_bytes_across_checkouts(
    two_checkouts: tuple[Path, Path], tmp_path: Path, function: str
) -> None:
    first_root, second_root = two_checkouts

    first = build_code_package(first_root, function, tmp_path / "out-a")
    second = build_code_package(second_root, function, tmp_path / "out-b")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.source_code_hash == second.source_code_hash == source_code_hash(second.path)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_code_package_hash_changes_with_one_byte_in_shared_module(
    two_checkouts: tuple[Path, Path], tmp_path: Path, function: str
) -> None:
    first_root, second_root = two_checkouts
    flip_one_byte(second_root / "lambdas" / "shared" / "db.py")

    first = build_code_package(first_root, function, tmp_path / "out-a")
    second = build_code_package(second_root, function, tmp_path / "out-b")

    assert first.source_code_hash != second.source_code_hash


def test_code_package_entries_are_normalized(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", mtime=1_650_000_000, file_mode=0o600)

    package = build_code_package(source, "rls_rollout", tmp_path / "out")

    with zipfile.ZipFile(package.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == [
        "lambdas/__init__.py",
        "lambdas/rls_rollout/__init__.py",
        "lambdas/rls_rollout/handler.py",
        "lambdas/shared/__init__.py",
        "lambdas/shared/db.py",
        "lambdas/shared/migrations/0001_core.sql",
    ]
    assert {info.date_time for info in infos} == {FIXED_DATE_TIME}
    assert {stat.S_IMODE(info.external_attr >> 16) for info in infos} == {0o644}
    assert {info.create_system for info in infos} == {3}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}


def test_code_package_without_handler_names_function(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", mtime=1_650_000_000, file_mode=0o644)
    (source / "lambdas" / "usage_aggregation" / "handler.py").unlink()

    with pytest.raises(PackagingError, match=r"'usage_aggregation' has no handler"):
        build_code_package(source, "usage_aggregation", tmp_path / "out")


def test_build_packages_rejects_unknown_function(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match=r"unknown functions \['billing'\]; allowed: "):
        build_packages(tmp_path, tmp_path / "out", functions=("billing",))


@pytest.fixture(scope="module")
def two_clones(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Two `git clone`s of this repository's HEAD at different paths and mtimes."""
    base = tmp_path_factory.mktemp("clones")
    clones = (base / "one", base / "two" / "nested")
    for clone in clones:
        subprocess.run(
            ["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(clone)],
            check=True,
        )
    for path in (clones[1] / "lambdas").rglob("*"):
        os.utime(path, (1_234_567_890, 1_234_567_890))
    yield clones
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_code_package_same_bytes_across_git_clones(
    two_clones: tuple[Path, Path], tmp_path: Path, function: str
) -> None:
    first_clone, second_clone = two_clones

    first = build_code_package(first_clone, function, tmp_path / "one")
    second = build_code_package(second_clone, function, tmp_path / "two")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.source_code_hash == second.source_code_hash


def test_layer_holds_dependencies_under_python_without_install_records(layer: Package) -> None:
    with zipfile.ZipFile(layer.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in infos}

    assert names == sorted(names)
    assert all(name.startswith("python/") for name in names)
    assert "python/aws_lambda_powertools/__init__.py" in names
    assert "python/aws_xray_sdk/__init__.py" in names
    assert "python/psycopg2/__init__.py" in names
    native = "python/pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so"
    assert modes[native] == 0o755
    assert modes["python/pydantic/__init__.py"] == 0o644
    assert not [name for name in names if name.endswith((".pyc", "/RECORD", "/INSTALLER"))]
    assert not [name for name in names if name.startswith("python/bin/")]
    assert not [name for name in names if name.startswith("python/boto")]
    assert {info.date_time for info in infos} == {FIXED_DATE_TIME}
    assert 0 < layer.size_bytes < DIRECT_UPLOAD_LIMIT_BYTES


def test_layer_requirements_are_a_closed_set(layer: Package) -> None:
    with zipfile.ZipFile(layer.path) as archive:
        metadata = {
            name: archive.read(name).decode()
            for name in archive.namelist()
            if name.endswith(".dist-info/METADATA")
        }
    installed: set[str] = set()
    required: dict[str, str] = {}
    for path, text in metadata.items():
        message = email.message_from_string(text)
        installed.add(canonicalize_name(str(message["Name"])))
        for value in message.get_all("Requires-Dist") or []:
            requirement = Requirement(str(value))
            marker = requirement.marker or Marker("python_version >= '0'")
            if marker.evaluate({**LAMBDA_MARKERS, "extra": ""}):
                required[canonicalize_name(requirement.name)] = path

    missing = {
        name: path for name, path in required.items() if name not in installed | RUNTIME_PROVIDED
    }

    assert missing == {}
    assert {"aws-lambda-powertools", "pydantic", "psycopg2-binary"} <= installed


def test_layer_is_reused_from_cache_and_identical_when_reinstalled(
    layer: Package, tmp_path: Path
) -> None:
    cached = build_layer_package(REQUIREMENTS, REPO_ROOT / "build" / "lambda")
    fresh = build_layer_package(REQUIREMENTS, tmp_path / "fresh-build")

    assert cached.path == layer.path
    assert fresh.path.read_bytes() == layer.path.read_bytes()
    assert fresh.source_code_hash == layer.source_code_hash


@pytest.mark.parametrize("function", FUNCTIONS)
def test_code_package_hash_changes_with_one_byte_in_committed_shared_module(
    two_clones: tuple[Path, Path], tmp_path: Path, function: str
) -> None:
    first_clone, _ = two_clones
    edited = tmp_path / "edited"
    shutil.copytree(first_clone, edited, ignore=shutil.ignore_patterns(".git"))
    helper = sorted((edited / "lambdas" / "shared").glob("*.py"))[-1]
    flip_one_byte(helper)

    original = build_code_package(first_clone, function, tmp_path / "original")
    changed = build_code_package(edited, function, tmp_path / "changed")

    assert original.source_code_hash != changed.source_code_hash
    with zipfile.ZipFile(original.path) as before, zipfile.ZipFile(changed.path) as after:
        assert before.namelist() == after.namelist()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_code_package_imports_its_handler_from_the_zip_alone(tmp_path: Path, function: str) -> None:
    """The zip must carry every module the handler imports that is not a dependency:
    run the import with only the extracted zip and the installed packages on the path."""
    package = build_code_package(REPO_ROOT, function, tmp_path)
    extracted = tmp_path / "extracted"
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(extracted)
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(extracted)!r}); "
            f"import lambdas.{function}.handler as h; assert callable(h.handler)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
