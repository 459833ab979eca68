"""`make package` end to end: build the Lambda zip, unpack it into an empty folder and
import every handler from it with a clean interpreter that sees nothing else.

The package is built for this machine's architecture and Python (not Lambda's arm64 /
3.12 defaults) so the compiled wheels in it can load here. Building needs PyPI: the
tests skip when pip cannot reach it; wheels come from pip's cache on reruns.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tools.packaging import DependencyInstallError, build, handlers, host_arch

pytestmark = pytest.mark.slow

HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _build(outdir: Path) -> Path:
    try:
        return build(outdir, arch=host_arch(), python=HOST_PYTHON).zip_path
    except DependencyInstallError as error:
        if error.network:
            pytest.skip(f"PyPI unreachable, cannot download the dependencies: {error}")
        raise


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def unpacked(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("task")  # like /var/task
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(folder)
    return folder


IMPORT_EVERY_HANDLER = textwrap.dedent(
    """
    import importlib, json, os, sys, sysconfig

    folder = os.path.realpath(sys.argv[1])
    sys.path.insert(0, folder)
    stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
    handlers = json.loads(sys.argv[2])
    problems = []
    for path in handlers:
        module_name, _, name = path.rpartition(".")
        module = importlib.import_module(module_name)
        if not callable(getattr(module, name, None)):
            problems.append(f"{path} is not callable")
        if not os.path.realpath(module.__file__).startswith(folder + os.sep):
            problems.append(f"{module_name} came from {module.__file__}")
    import pcre2, msgspec._core  # the compiled wheels load on this machine
    import extraction.pdf_text, extraction.docx_text  # imported on the first attachment that needs them
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        real = os.path.realpath(file)
        if not (real.startswith(folder + os.sep) or any(real.startswith(p + os.sep) for p in stdlib)):
            problems.append(f"{module.__name__} came from outside the package: {file}")
    leaked = [p for p in sys.path if "site-packages" in p]
    if leaked:
        problems.append(f"site-packages on sys.path: {leaked}")
    print(json.dumps({"problems": problems, "imported": len(handlers),
                      "pcre2": pcre2.__file__, "msgspec": msgspec._core.__file__}))
    """
)


def test_every_handler_imports_from_the_unpacked_artifact_alone(unpacked: Path, tmp_path: Path) -> None:
    empty = tmp_path / "cwd"
    empty.mkdir()
    paths = list(handlers())
    assert len(paths) >= 10 and "producers.inbound.handler" in paths and "consumers.senders.ack.handler" in paths
    # -I: no PYTHON* variables, no user site, no cwd on sys.path; -S: no site-packages at all.
    # -I ignores PYTHONPATH, so the code puts the folder on sys.path itself.
    env = {"PATH": os.defpath, "HOME": str(empty), "LANG": "C.UTF-8", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", IMPORT_EVERY_HANDLER, str(unpacked), json.dumps(paths)],
        cwd=empty, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["problems"] == []
    assert report["imported"] == len(paths)
    assert report["pcre2"].startswith(str(unpacked)) and report["msgspec"].startswith(str(unpacked))


def test_the_artifact_holds_code_and_data_but_no_tests_or_bytecode(artifact: Path) -> None:
    with zipfile.ZipFile(artifact) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    assert "mail/freemail.txt" in names and "crm/topology.py" in names and "events/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if n.startswith(("tests/", "bin/", "src/", "include/", "share/"))]
    assert any(n.startswith("pcre2/") and ".so" in n for n in names)
    assert any(n.startswith("botocore/") for n in names)

    manifest = json.loads((artifact.parent / "lambda.manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert (artifact.parent / "lambda.zip.sha256").read_text(encoding="utf-8") == f"{digest}  lambda.zip\n"
    assert manifest["sha256"] == digest
    assert manifest["architecture"] == host_arch() and manifest["python"] == HOST_PYTHON
    assert manifest["handlers"] == list(handlers())
    assert {"boto3", "botocore", "pcre2", "msgspec", "aws-lambda-powertools"} <= set(manifest["dependencies"])


def test_a_rebuild_is_byte_identical(artifact: Path, tmp_path: Path) -> None:
    again = _build(tmp_path / "again")
    assert again.read_bytes() == artifact.read_bytes()
