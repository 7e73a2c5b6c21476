"""Deterministic packages of the Lambda functions: one shared dependencies layer, one code zip each.

The same source gives the same bytes on any machine and in any checkout path:

- entries are sorted by their archive path, which is relative and uses ``/``;
- every entry has the timestamp 1980-01-01 00:00:00, a Unix creator and a fixed mode (0644, or
  0755 for shared libraries), never the file's own mtime, owner or umask-dependent mode;
- entries are stored, not deflated: deflate output depends on the zlib build (zlib-ng and
  Apple's zlib differ from zlib), which would make the bytes depend on the machine;
- bytecode, caches, tests and hidden files are left out; the layer leaves out what pip writes
  about the installation itself (``RECORD``, ``INSTALLER``, ``REQUESTED``, console scripts
  whose shebang names the host interpreter), so it is a function of the pinned wheels alone.

The dependency install is cached under ``build/lambda/deps-<key>/`` by the hash of
``lambdas/requirements.txt`` and the target platform, so only the first build pays for pip.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS: tuple[str, ...] = ("tenant_onboarding", "rls_rollout", "usage_aggregation")
SOURCE_PACKAGE = "lambdas"
SHARED_PACKAGE = "shared"
REQUIREMENTS_NAME = "requirements.txt"

TARGET_RUNTIME = "python3.12"
TARGET_ARCHITECTURE = "x86_64"
PIP_TARGET_FLAGS: tuple[str, ...] = (
    "--platform",
    "manylinux2014_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--only-binary=:all:",
)
# Bump when the layer layout or the file selection below changes, so cached layers are rebuilt.
LAYER_FORMAT_VERSION = "1"

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
UNIX_CREATOR = 3
CODE_SUFFIXES = frozenset({".py", ".sql", ".json", ".yaml", ".yml", ".typed"})
EXCLUDED_DIR_NAMES = frozenset({"__pycache__", "tests", "test", ".pytest_cache", ".mypy_cache"})
PIP_INSTALL_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# Lambda's limit for a zip uploaded directly (not through S3), for a function or a layer.
DIRECT_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024


class PackagingError(RuntimeError):
    """A package cannot be built from the given source tree or requirements."""


@dataclass(frozen=True)
class Package:
    """One built zip: where it is and its hash in Lambda's ``source_code_hash`` format."""

    name: str
    path: Path
    source_code_hash: str
    size_bytes: int


@dataclass(frozen=True)
class Packages:
    """The dependencies layer and the code zip of every function."""

    layer: Package
    functions: dict[str, Package]


def source_code_hash(path: Path) -> str:
    """Base64 of the SHA-256 of a file: the format of ``aws_lambda_function.source_code_hash``."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode("ascii")


def _entry_mode(archive_path: str) -> int:
    name = PurePosixPath(archive_path).name
    return EXECUTABLE_MODE if name.endswith(".so") or ".so." in name else FILE_MODE


def write_deterministic_zip(entries: Iterable[tuple[str, Path]], destination: Path) -> None:
    """Write ``(archive path, source file)`` pairs as a zip whose bytes depend on content only.

    The zip is written beside the destination and moved over it, so a reader never sees half a
    file; an unchanged destination is left untouched.
    """
    ordered = sorted(entries, key=lambda entry: entry[0])
    names = [name for name, _ in ordered]
    if len(set(names)) != len(names):
        raise PackagingError(f"duplicate archive paths in {destination.name}: {names}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(prefix=".zip-", dir=destination.parent)
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
            for archive_path, source in ordered:
                info = zipfile.ZipInfo(archive_path, date_time=FIXED_DATE_TIME)
                info.create_system = UNIX_CREATOR
                info.external_attr = (0o100000 | _entry_mode(archive_path)) << 16
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, source.read_bytes())
        if destination.exists() and destination.read_bytes() == temporary.read_bytes():
            temporary.unlink()
        else:
            temporary.chmod(0o644)
            temporary.replace(destination)
    finally:
        temporary.unlink(missing_ok=True)


def _is_hidden(part: str) -> bool:
    return part.startswith(".")


def _walk_files(directory: Path) -> Iterator[Path]:
    for current, dir_names, file_names in os.walk(directory):
        dir_names[:] = [
            name for name in dir_names if name not in EXCLUDED_DIR_NAMES and not _is_hidden(name)
        ]
        for file_name in file_names:
            if not _is_hidden(file_name):
                yield Path(current) / file_name


# Code outside lambdas/ that a function imports at run time (standard library only).
EXTRA_SOURCES: dict[str, tuple[str, ...]] = {
    "rls_rollout": ("policies/__init__.py", "policies/rls"),
}


def _extra_entries(source_root: Path, function: str) -> list[tuple[str, Path]]:
    entries = []
    for extra in EXTRA_SOURCES.get(function, ()):
        path = source_root / extra
        files = [path] if path.is_file() else sorted(_walk_files(path))
        entries += [
            (file.relative_to(source_root).as_posix(), file)
            for file in files
            if file.suffix in CODE_SUFFIXES
        ]
    return entries


def code_entries(source_root: Path, function: str) -> list[tuple[str, Path]]:
    """Files of ``lambdas/`` that the function's zip holds, keyed by their archive path.

    The zip holds the package's top-level modules, ``lambdas/shared/`` and the function's own
    directory; the other functions' directories, tests, bytecode and non-code files stay out.
    """
    package_dir = source_root / SOURCE_PACKAGE
    function_dir = package_dir / function
    handler = function_dir / "handler.py"
    if not handler.is_file():
        raise PackagingError(
            f"function {function!r} has no handler: expected {handler}; "
            f"known functions: {', '.join(FUNCTIONS)}"
        )
    other_functions = set(FUNCTIONS) - {function}
    entries: list[tuple[str, Path]] = []
    for path in _walk_files(package_dir):
        relative = path.relative_to(source_root)
        parts = relative.parts
        if len(parts) > 2 and parts[1] in other_functions:
            continue
        if path.suffix not in CODE_SUFFIXES or path.name.startswith("test_"):
            continue
        if path.name == "conftest.py":
            continue
        entries.append((relative.as_posix(), path))
    return sorted(entries + _extra_entries(source_root, function))


def build_code_package(source_root: Path, function: str, output_dir: Path) -> Package:
    """Zip the function's code; the handler is ``lambdas.<function>.handler.handler``."""
    destination = output_dir / f"{function}.zip"
    write_deterministic_zip(code_entries(source_root, function), destination)
    return _package(function, destination)


def _package(name: str, path: Path) -> Package:
    size = path.stat().st_size
    if size > DIRECT_UPLOAD_LIMIT_BYTES:
        raise PackagingError(
            f"package {name!r} is {size} bytes; Lambda takes at most "
            f"{DIRECT_UPLOAD_LIMIT_BYTES} bytes uploaded directly: upload it through S3 instead"
        )
    return Package(name=name, path=path, source_code_hash=source_code_hash(path), size_bytes=size)


def dependencies_key(requirements: Path) -> str:
    """Cache key of the dependency install: the requirements' bytes and the target platform."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update("\0".join((LAYER_FORMAT_VERSION, *PIP_TARGET_FLAGS)).encode())
    return digest.hexdigest()[:16]


def install_dependencies(requirements: Path, cache_dir: Path) -> Path:
    """Install the pinned wheels for the Lambda platform once per requirements hash."""
    installed = cache_dir / f"deps-{dependencies_key(requirements)}"
    if installed.is_dir():
        return installed
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".deps-", dir=cache_dir))
    print(
        f"package_lambdas: installing {requirements.name} for {TARGET_RUNTIME} "
        f"{TARGET_ARCHITECTURE} (cached after this run)",
        file=sys.stderr,
    )
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--no-deps",
        "--require-hashes",
        "--no-compile",
        *PIP_TARGET_FLAGS,
        "--target",
        str(staging),
        "--requirement",
        str(requirements),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackagingError(
            f"pip could not install {requirements} for {TARGET_RUNTIME}: {result.stderr.strip()}"
        )
    try:
        staging.rename(installed)
    except OSError:
        if not installed.is_dir():
            raise
        # Another build installed the same key first; its result is the same.
        shutil.rmtree(staging, ignore_errors=True)
    return installed


def layer_entries(installed: Path) -> list[tuple[str, Path]]:
    """Files of the installed dependencies under ``python/``, where Lambda looks for them."""
    entries: list[tuple[str, Path]] = []
    for path in _walk_files(installed):
        relative = path.relative_to(installed)
        if relative.parts[0] == "bin" or path.suffix in {".pyc", ".pyo"}:
            continue
        if relative.parent.name.endswith(".dist-info") and path.name in PIP_INSTALL_RECORDS:
            continue
        entries.append(((PurePosixPath("python") / relative.as_posix()).as_posix(), path))
    return entries


def build_layer_package(requirements: Path, build_dir: Path) -> Package:
    """The dependencies layer zip, rebuilt only when the requirements or the format change."""
    if not requirements.is_file():
        raise PackagingError(f"requirements file not found: {requirements}")
    key = dependencies_key(requirements)
    destination = build_dir / f"layer-{key}.zip"
    if not destination.is_file():
        installed = install_dependencies(requirements, build_dir)
        write_deterministic_zip(layer_entries(installed), destination)
    return _package("dependencies", destination)


def build_packages(
    source_root: Path = REPO_ROOT,
    build_dir: Path | None = None,
    functions: Sequence[str] = FUNCTIONS,
) -> Packages:
    """Build the layer and every function's code zip under ``build/lambda/``."""
    unknown = sorted(set(functions) - set(FUNCTIONS))
    if unknown:
        raise PackagingError(f"unknown functions {unknown}; allowed: {', '.join(FUNCTIONS)}")
    output_dir = build_dir if build_dir is not None else source_root / "build" / "lambda"
    layer = build_layer_package(source_root / SOURCE_PACKAGE / REQUIREMENTS_NAME, output_dir)
    built = {name: build_code_package(source_root, name, output_dir) for name in functions}
    return Packages(layer=layer, functions=built)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source-root", type=Path, default=REPO_ROOT)
    parser.add_argument("--build-dir", type=Path, default=None)
    arguments = parser.parse_args(argv)
    try:
        packages = build_packages(arguments.source_root, arguments.build_dir)
    except PackagingError as error:
        print(f"package_lambdas: {error}", file=sys.stderr)
        return 1
    for package in (packages.layer, *packages.functions.values()):
        print(
            f"{package.name:<18} {package.size_bytes:>10} B  {package.source_code_hash}  "
            f"{package.path}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
