"""The codebase's own rules that a newcomer relies on, kept true by the suite: no Python
module over 500 lines (a module does one thing), and `make test` runs the format and
lint checks for real (no `|| true`), as `make lint` does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500
SKIPPED = {".venv", "build", "dist", "node_modules", ".crm", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def _modules() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.py") if not SKIPPED & set(path.relative_to(ROOT).parts) and "egg-info" not in str(path)
    )


def _recipe(target: str) -> list[str]:
    """The command lines of a Makefile target, as make runs them."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"{re.escape(target)}\s*:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_the_module_list_covers_every_package() -> None:
    tops = {path.relative_to(ROOT).parts[0] for path in _modules()}
    assert {"adapters", "consumers", "crm", "events", "mail", "producers", "projections", "tests", "bench"} <= tops


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_500_lines(module: Path) -> None:
    count = len(module.read_text(encoding="utf-8").splitlines())
    assert count <= MAX_LINES, f"{module.relative_to(ROOT)} has {count} lines (at most {MAX_LINES}): split it by job"


@pytest.mark.parametrize("target", ["test", "lint"])
def test_make_runs_the_format_and_lint_checks_and_lets_them_fail(target: str) -> None:
    recipe = _recipe(target)
    assert any(re.fullmatch(r"\$\(BIN\)/ruff format --check \.", line) for line in recipe), recipe
    assert any(re.fullmatch(r"\$\(BIN\)/ruff check \.", line) for line in recipe), recipe
    ignored = [line for line in recipe if re.search(r"\|\|\s*(true|:)\s*$", line) or line.startswith("-")]
    assert not ignored, f"make {target} ignores the failure of {ignored}"


def test_make_test_runs_the_type_check_and_the_whole_suite_including_the_layering_test() -> None:
    recipe = _recipe("test")
    assert any(line.startswith("$(BIN)/mypy ") for line in recipe), recipe
    runs = [line.split(" pytest", 1)[1] for line in recipe if re.match(r"\$\(BIN\)/python -m pytest\b", line)]
    assert runs and all(" -k " not in f"{run} " and " -m " not in f"{run} " for run in runs), recipe  # nothing deselected
    assert (ROOT / "tests" / "unit" / "test_layering.py").exists()
