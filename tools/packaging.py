"""Build the Lambda deployment package: ``python -m tools.packaging OUTDIR`` (``make package``).

One artifact serves every function. The zip holds the project's packages and all of
their runtime dependencies; each Lambda function of ``infra/examples/complete`` points
at the same ``dist/lambda.zip`` (variable ``lambda_package``) and picks its entry
point with its own ``handler`` setting (the handler paths of ``crm.topology``). One
zip means one upload hash for all functions and nothing to keep in step between them.

The dependencies are those of ``[project].dependencies`` in pyproject.toml, installed
with ``pip install --target`` for the *target* platform, not the building machine:
``--platform manylinux2014_<machine> --implementation cp --python-version <runtime>
--only-binary=:all:`` (defaults: ``arm64`` and Python 3.12, the ``lambda_architecture``
and runtime of the infra), so compiled packages (pcre2, msgspec, lxml, wrapt)
come as manylinux wheels for Lambda's architecture whatever the host is. manylinux2014
(glibc 2.17) is the conservative floor every Lambda Python runtime satisfies. Only
wheels are accepted: a dependency without a wheel for the target fails the build with
pip's message rather than compiling for the wrong machine.

boto3/botocore are bundled rather than left to the runtime's copies, and every
dependency is pinned to the version installed in the building environment when it
has one (``--no-pin`` resolves the newest allowed instead), so Lambda runs what the
tests ran (Powertools also wants a newer botocore than some runtimes bring).

Written into OUTDIR:

* ``lambda.zip`` - deterministic: sorted entries, fixed timestamps and permissions, no
  ``__pycache__``/``.pyc`` (Lambda's file system is read-only, so stale bytecode could
  not be refreshed anyway) and no console scripts (``bin/``);
* ``lambda.zip.sha256`` - ``sha256sum`` format;
* ``lambda.manifest.json`` - architecture, Python, platform tag, dependency versions,
  handlers, sizes and hashes (including the base64 form OpenTofu's
  ``filebase64sha256`` reports as ``source_code_hash``).
"""

from __future__ import annotations

import argparse
import base64
import csv
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ZIP_NAME = "lambda.zip"  # infra/examples/complete/main.tf: dist/lambda.zip
SHA_NAME = f"{ZIP_NAME}.sha256"
MANIFEST_NAME = "lambda.manifest.json"
DEFAULT_ARCH = "arm64"  # var.lambda_architecture
DEFAULT_PYTHON = "3.12"  # infra/modules/function: runtime python3.12
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda name -> manylinux machine
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024  # direct upload (filename =) of a zipped package
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
NETWORK_SIGNS = (
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "NameResolutionError",
    "Could not fetch URL",
)
DROPPED_DIRS = {"__pycache__", "bin", "tests"}
# Modules only the command line runs (the local stack on moto, the SMTP service,
# the demo, this builder): no handler imports them, so no function carries them.
CLI_ONLY_MODULES = {"crm/local.py", "crm/moto_stack.py", "crm/provision.py", "crm/serve.py", "crm/demo.py"}
CLI_ONLY_PACKAGES = {"crm/web"}  # `crm web`: Flask, templates, static files


class PackagingError(RuntimeError):
    """The package could not be built."""


class DependencyInstallError(PackagingError):
    """``pip install`` of the dependencies failed; ``network`` when PyPI was unreachable."""

    def __init__(self, message: str, *, network: bool) -> None:
        super().__init__(message)
        self.network = network


@dataclass(frozen=True)
class Project:
    """What pyproject.toml and crm.topology say goes into the package."""

    root: Path
    version: str
    dependencies: tuple[str, ...]
    packages: tuple[str, ...]
    modules: tuple[str, ...]
    data_patterns: tuple[str, ...]
    handlers: tuple[str, ...]


@dataclass
class BuildResult:
    zip_path: Path
    sha256: str
    zip_bytes: int
    unzipped_bytes: int
    files: int
    manifest: dict[str, Any]
    dependency_sizes: dict[str, int] = field(default_factory=dict)


def platform_tag(arch: str) -> str:
    """Lambda architecture -> the manylinux platform tag pip installs for."""
    try:
        return f"manylinux2014_{ARCHES[arch]}"
    except KeyError:
        raise PackagingError(f"unknown architecture {arch!r}; one of {', '.join(ARCHES)}") from None


def host_arch() -> str:
    """This machine's architecture as Lambda names it (for a package importable here)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if arch is None:
        raise PackagingError(f"no Lambda architecture for machine {machine!r}")
    return arch


def handlers() -> tuple[str, ...]:
    """Every handler path the infra deploys: the consumers, then the producers."""
    from crm.topology import PRODUCERS, consumers

    return tuple(dict.fromkeys([c.handler for c in consumers()] + sorted(PRODUCERS.values())))


def load_project(root: Path = ROOT) -> Project:
    with (root / "pyproject.toml").open("rb") as f:
        pyproject = tomllib.load(f)
    setuptools = pyproject.get("tool", {}).get("setuptools", {})
    include = setuptools.get("packages", {}).get("find", {}).get("include", [])
    packages = tuple(sorted({p.split(".")[0].rstrip("*") for p in include}))
    modules = tuple(sorted(setuptools.get("py-modules", [])))
    patterns = sorted({pat for pats in setuptools.get("package-data", {}).values() for pat in pats})
    return Project(
        root=root,
        version=str(pyproject["project"]["version"]),
        dependencies=tuple(pyproject["project"].get("dependencies", [])),
        packages=packages,
        modules=modules,
        data_patterns=tuple(["*.py", *patterns]),
        handlers=handlers(),
    )


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_pins(exclude: Iterable[str] = ()) -> list[str]:
    """``name==version`` of every distribution in the running environment."""
    skipped = {_normalize(n) for n in exclude}
    pins: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and _normalize(name) not in skipped:
            pins.setdefault(_normalize(name), f"{_normalize(name)}=={dist.version}")
    return sorted(pins.values())


def index_reachable(timeout: float = 10.0) -> bool:
    """Whether pip's package index answers (pip with no retries left does not say why it failed)."""
    index = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"
    try:
        with urllib.request.urlopen(f"{index.rstrip('/')}/pip/", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (OSError, ValueError):
        return False


def pip_install(
    requirements: Sequence[str],
    target: Path,
    *,
    arch: str,
    python: str,
    constraints: Sequence[str] = (),
    cache_dir: Path | None = None,
) -> None:
    """Install ``requirements`` into ``target`` for the Lambda platform, wheels only."""
    command = [
        sys.executable, "-m", "pip", "install",
        "--target", str(target),
        "--platform", platform_tag(arch),
        "--implementation", "cp",
        "--python-version", python,
        "--only-binary=:all:",
        "--upgrade",
        "--no-compile",
        "--no-warn-script-location",
        "--disable-pip-version-check",
        "--progress-bar", "off",
    ]  # fmt: skip
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    with tempfile.TemporaryDirectory(prefix="crm-constraints-") as tmp:
        if constraints:
            path = Path(tmp) / "constraints.txt"
            path.write_text("\n".join(constraints) + "\n", encoding="utf-8")
            command += ["--constraint", str(path)]
        done = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        errors = "\n".join(line for line in output.splitlines() if not line.startswith("WARNING: Location")).strip()
        raise DependencyInstallError(
            f"pip install for {platform_tag(arch)} / cp{python} failed (exit {done.returncode}):\n{errors[-4000:]}",
            network=any(sign in output for sign in NETWORK_SIGNS) or not index_reachable(),
        )


def _wanted(relative: Path, patterns: Sequence[str]) -> bool:
    if any(part in DROPPED_DIRS for part in relative.parts[:-1]) or relative.as_posix() in CLI_ONLY_MODULES:
        return False
    if any(relative.as_posix().startswith(f"{package}/") for package in CLI_ONLY_PACKAGES):
        return False
    return any(fnmatch.fnmatch(relative.name, pattern) for pattern in patterns)


def copy_project(project: Project, target: Path) -> int:
    """Copy the project's packages (code and package data only) into ``target``."""
    copied = 0
    for module in project.modules:
        source = project.root / f"{module}.py"
        if not source.is_file():
            raise PackagingError(f"module {module!r} of pyproject.toml has no {source}")
        if (target / source.name).exists():
            raise PackagingError(f"a dependency installed a top-level {source.name}, the name of a project module")
        shutil.copyfile(source, target / source.name)
        copied += 1
    for package in project.packages:
        source = project.root / package
        if not (source / "__init__.py").is_file():
            raise PackagingError(f"package {package!r} of pyproject.toml has no {source / '__init__.py'}")
        if (target / package).exists():
            raise PackagingError(f"a dependency installed a top-level {package!r}, the name of a project package")
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(project.root)
            if path.is_file() and _wanted(relative, project.data_patterns):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / relative)
                copied += 1
    return copied


def prune(tree: Path) -> int:
    """Drop what Lambda never imports; -> bytes removed.

    Files a wheel installs outside the library directory (its RECORD lists them as
    ``../../...``: console scripts, headers, data such as pcre2's C sources, static
    libraries and man pages) land at the top of a ``--target`` tree; bytecode caches
    would only be stale on Lambda's read-only file system.
    """
    doomed: set[Path] = set()
    for record in tree.glob("*.dist-info/RECORD"):
        for row in csv.reader(record.read_text(encoding="utf-8").splitlines()):
            if row and row[0].startswith("../"):
                doomed.add(tree / re.sub(r"^(\.\./)+", "", row[0]))
    doomed.update(tree.rglob("*.py[co]"))
    removed = 0
    for path in sorted(doomed):
        if path.is_file() and tree in path.parents:
            removed += path.stat().st_size
            path.unlink()
    shutil.rmtree(tree / "bin", ignore_errors=True)
    for directory in sorted((d for d in tree.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
        if directory.name == "__pycache__" or not any(directory.iterdir()):
            shutil.rmtree(directory)
    return removed


def check_handlers(tree: Path, paths: Iterable[str]) -> None:
    """Each handler's module is in the tree (importing needs the target platform)."""
    missing = []
    for handler in paths:
        module = handler.rpartition(".")[0].replace(".", "/")
        if not ((tree / f"{module}.py").is_file() or (tree / module / "__init__.py").is_file()):
            missing.append(handler)
    if missing:
        raise PackagingError(f"handler modules missing from the package: {', '.join(missing)}")


def dependency_versions(tree: Path) -> dict[str, str]:
    return {
        _normalize(dist.metadata["Name"]): dist.version
        for dist in sorted(metadata.distributions(path=[str(tree)]), key=lambda d: _normalize(d.metadata["Name"]))
    }


def top_level_sizes(tree: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in tree.rglob("*"):
        if path.is_file():
            top = path.relative_to(tree).parts[0]
            if top.endswith(".dist-info"):
                top = "*.dist-info"
            sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return dict(sorted(sizes.items(), key=lambda item: (-item[1], item[0])))


def write_zip(tree: Path, destination: Path) -> tuple[int, int]:
    """Deterministic zip of ``tree``: sorted entries, fixed time and modes. -> (files, bytes)."""
    files = sorted((p for p in tree.rglob("*") if p.is_file()), key=lambda p: p.relative_to(tree).as_posix())
    unzipped = 0
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), date_time=ZIP_EPOCH)
            executable = path.suffix == ".so" or ".so." in path.name or os.access(path, os.X_OK)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the modes above are honoured
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    partial.replace(destination)
    return len(files), unzipped


def _sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def build(
    outdir: Path,
    *,
    arch: str = DEFAULT_ARCH,
    python: str = DEFAULT_PYTHON,
    pin: bool = True,
    cache_dir: Path | None = None,
    project: Project | None = None,
) -> BuildResult:
    """Build ``outdir/lambda.zip`` (plus its .sha256 and manifest) for ``arch`` and ``python``."""
    if not re.fullmatch(r"3\.\d+", python):
        raise PackagingError(f"--python wants a version like 3.12, not {python!r}")
    tag = platform_tag(arch)
    project = project or load_project()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crm-package-") as tmp:
        tree = Path(tmp) / "package"
        tree.mkdir()
        constraints = installed_pins(exclude=["conversation-crm"]) if pin else []
        pip_install(project.dependencies, tree, arch=arch, python=python, constraints=constraints, cache_dir=cache_dir)
        pruned = prune(tree)
        versions = dependency_versions(tree)
        copy_project(project, tree)
        check_handlers(tree, project.handlers)
        sizes = top_level_sizes(tree)
        zip_path = outdir / ZIP_NAME
        files, unzipped = write_zip(tree, zip_path)
    digest = _sha256(zip_path)
    (outdir / SHA_NAME).write_text(f"{digest.hex()}  {ZIP_NAME}\n", encoding="utf-8")
    manifest: dict[str, Any] = {
        "artifact": ZIP_NAME,
        "project": {"name": "conversation-crm", "version": project.version},
        "architecture": arch,
        "python": python,
        "runtime": f"python{python}",
        "platform": tag,
        "pinned_to_build_environment": pin,
        "requirements": list(project.dependencies),
        "dependencies": versions,
        "packages": list(project.packages),
        "handlers": list(project.handlers),
        "files": files,
        "pruned_bytes": pruned,
        "zip_bytes": zip_path.stat().st_size,
        "unzipped_bytes": unzipped,
        "sha256": digest.hex(),
        "base64sha256": base64.b64encode(digest).decode("ascii"),
    }
    (outdir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return BuildResult(zip_path, digest.hex(), zip_path.stat().st_size, unzipped, files, manifest, sizes)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.packaging", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path, help="where lambda.zip, lambda.zip.sha256 and lambda.manifest.json go")
    parser.add_argument("--arch", choices=sorted(ARCHES), default=DEFAULT_ARCH, help="Lambda architecture (default arm64)")
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="Lambda runtime's Python, e.g. 3.12 (the default)")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="newest allowed dependency versions instead of those installed here"
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="pip cache (default: pip's own)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        result = build(args.outdir, arch=args.arch, python=args.python, pin=args.pin, cache_dir=args.cache_dir)
    except PackagingError as error:
        print(f"packaging failed: {error}", file=sys.stderr)
        return 1
    m = result.manifest
    print(
        f"{result.zip_path}: {_mib(result.zip_bytes)} zipped, {_mib(result.unzipped_bytes)} unzipped, "
        f"{result.files} files ({m['platform']}, cp{m['python'].replace('.', '')}) in {time.monotonic() - started:.0f}s"
    )
    print(f"sha256 {result.sha256}  (source_code_hash {m['base64sha256']})")
    print(f"pruned {_mib(m['pruned_bytes'])} installed outside the library (scripts, headers, C sources, docs)")
    print("largest: " + ", ".join(f"{name} {_mib(size)}" for name, size in list(result.dependency_sizes.items())[:8]))
    print(
        f"{len(m['handlers'])} handlers, {len(m['dependencies'])} dependencies: "
        + ", ".join(f"{name} {version}" for name, version in m["dependencies"].items())
    )
    if result.zip_bytes > LAMBDA_ZIP_LIMIT:
        print(f"warning: over Lambda's {_mib(LAMBDA_ZIP_LIMIT)} direct-upload limit; upload through S3", file=sys.stderr)
    if result.unzipped_bytes > LAMBDA_UNZIPPED_LIMIT:
        print(f"warning: over Lambda's {_mib(LAMBDA_UNZIPPED_LIMIT)} unzipped limit", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
