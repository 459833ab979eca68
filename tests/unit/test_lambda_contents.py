"""What every function carries: the handlers' code, not the CLI's, and no unused extras.

Regression tests for issue 15: the package shipped the local stack, the SMTP
service, the demo and the builder into every function, and Powertools' tracer and
validation extras (aws-xray-sdk, fastjsonschema) that no code uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tools.packaging import CLI_ONLY_MODULES, CLI_ONLY_PACKAGES, ROOT, copy_project, handlers, load_project


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("lambda-code")
    copy_project(load_project(), target)
    return target


def test_cli_only_modules_are_left_out(copied: Path) -> None:
    # the local stack and the moto stack are the CLI's ways to run everything in one process
    assert {"crm/local.py", "crm/moto_stack.py", "crm/serve.py", "crm/demo.py"} <= CLI_ONLY_MODULES
    for module in sorted(CLI_ONLY_MODULES):
        assert (ROOT / module).is_file(), f"{module} does not exist: the exclusion list is stale"
        assert not (copied / module).exists(), f"{module} is in the package"
    for package in sorted(CLI_ONLY_PACKAGES):
        assert (ROOT / package / "__init__.py").is_file(), f"{package} does not exist: the exclusion list is stale"
        assert not (copied / package).exists(), f"{package} is in the package"
    assert (copied / "crm" / "settings.py").is_file()
    # the composition root and the ports every handler imports
    assert (copied / "bootstrap.py").is_file() and (copied / "ports.py").is_file()


def test_every_handler_imports_without_the_cli_only_modules(copied: Path) -> None:
    # the copy comes first on sys.path, so a handler that needs a left-out module fails here
    script = "import importlib, sys\nfor h in sys.argv[1:]:\n    importlib.import_module(h.rpartition('.')[0])\n"
    env = {**os.environ, "PYTHONPATH": str(copied)}
    done = subprocess.run(
        [sys.executable, "-c", script, *handlers()], cwd=copied, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_cold_start_on_aws_loads_neither_the_local_engine_nor_moto(copied: Path) -> None:
    """Every handler imported and the container's services built, as a Lambda's first
    invocation does: the adapters of the other backend (and the CLI's stacks) stay unloaded."""
    script = (
        "import importlib, sys\nfor h in sys.argv[1:]:\n    importlib.import_module(h.rpartition('.')[0])\n"
        "import bootstrap\nsvc = bootstrap.for_lambda()\nassert svc.backend == 'aws', svc.backend\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(copied)}
    done = subprocess.run(
        [sys.executable, "-c", script, *handlers()], cwd=copied, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(done.stdout.split())
    assert "adapters.event_store" in loaded  # the aws adapters were built
    other = sorted(
        m
        for m in loaded
        if m.startswith(("adapters.local_", "sqlite3", "_sqlite3", "moto", "crm.local", "crm.moto_stack", "crm.cli"))
    )
    assert other == [], other


def test_no_unused_powertools_extra_is_a_dependency() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    powertools = [d for d in dependencies if d.startswith("aws-lambda-powertools")]
    assert powertools and all("[" not in d for d in powertools), powertools
    for path in [*ROOT.glob("*/**/*.py")]:
        if path.parts[len(ROOT.parts)] in {"tests", "bench", ".venv", "build", "dist"}:
            continue
        text = path.read_text(encoding="utf-8")
        for unused in ("aws_lambda_powertools.tracing", "import Tracer", "utilities.validation", "aws_xray_sdk"):
            assert unused not in text, f"{path.relative_to(ROOT)} uses {unused}: add the extra back"
