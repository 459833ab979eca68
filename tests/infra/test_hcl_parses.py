"""Every .tf file under infra/ parses, and every module has its four files."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import EXAMPLE, INFRA, MODULES, tf_files

hcl2 = pytest.importorskip("hcl2")

MODULE_NAMES = ["alarms", "bus", "function", "mail", "params", "queue", "storage", "tables"]


def test_there_is_hcl_to_check() -> None:
    assert len(tf_files()) >= 4 * len(MODULE_NAMES)


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_parses(path: Path) -> None:
    with path.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    assert isinstance(parsed, dict)
    assert parsed, f"{path} is empty"


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_module_layout(module: str) -> None:
    directory = MODULES / module
    for name in ("variables.tf", "main.tf", "outputs.tf", "README.md"):
        assert (directory / name).is_file(), f"infra/modules/{module}/{name} is missing"


def test_modules_are_exactly_the_documented_ones() -> None:
    assert sorted(p.name for p in MODULES.iterdir() if p.is_dir()) == MODULE_NAMES


def test_example_layout() -> None:
    for name in ("versions.tf", "variables.tf", "outputs.tf", "terraform.tfvars.example", "README.md"):
        assert (EXAMPLE / name).is_file(), f"infra/examples/complete/{name} is missing"
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    for step in ("make package", "tofu init", "tofu apply", "tofu output -json > stack.json", "--stack aws"):
        assert step in readme, f"the example README does not mention {step!r}"
