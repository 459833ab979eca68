"""The layering of DESIGN.md §3, read from the code: who may import whom, who may call
boto3 or sqlite3, and where adapters are built.

Imports under ``if TYPE_CHECKING:`` are for annotations only and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {
    "events",
    "mail",
    "extraction",
    "ports",
    "bootstrap",
    "observability",
    "adapters",
    "producers",
    "consumers",
    "projections",
    "crm",
    "tools",
}
# the pure core: no AWS, no engine, nothing of ours above it
PURE = {"events": set(), "mail": set(), "extraction": {"mail"}}
# what each part of the code may import of ours (itself always)
ALLOWED: dict[str, set[str]] = {
    **PURE,
    "ports": {"events"},
    "observability": set(),
    "adapters": {"events", "ports", "mail"},
    "projections": {"events", "ports"},
    # a handler module's Lambda entry comes from the composition root (built lazily per container)
    "producers": {"events", "mail", "ports", "observability", "bootstrap"},
    "consumers": {"events", "mail", "extraction", "ports", "observability", "bootstrap", "projections"},
}
AWS_OR_ENGINE = {"boto3", "botocore", "sqlite3", "moto"}


def modules(part: str) -> list[Path]:
    target = ROOT / part
    return sorted(target.rglob("*.py")) if target.is_dir() else [ROOT / f"{part}.py"]


def imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(child) for child in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_the_design_allows(part: str) -> None:
    wrong = []
    for path in modules(part):
        for line, name in imports(path):
            top = name.split(".")[0]
            if top in OURS and top != part and top not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_every_package_of_ours_is_in_the_layering() -> None:
    """A new top-level package or module cannot escape the rules above by not being named."""
    found = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    found |= {p.stem for p in ROOT.glob("*.py")}
    assert found - {"tests", "bench", "examples", "infra"} <= OURS


@pytest.mark.parametrize("part", sorted(PURE))
def test_the_pure_core_imports_nothing_of_ours_above_it(part: str) -> None:
    """mail/ and events/ import nothing of ours, extraction only mail/, relative imports
    included (``from .. import x`` would otherwise slip past the check by name)."""
    wrong = []
    for path in modules(part):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports from outside its package")
        for line, name in imports(path):
            top = name.split(".")[0]
            if top in OURS and top != part and top not in PURE[part]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert modules(part), part
    assert not wrong, "\n".join(wrong)


def test_only_adapters_call_aws_or_the_engine() -> None:
    wrong = []
    for part in ("events", "mail", "extraction", "ports", "bootstrap", "observability", "producers", "consumers", "projections"):
        for path in modules(part):
            for line, name in imports(path):
                if name.split(".")[0] in AWS_OR_ENGINE:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def adapter_classes() -> set[str]:
    found = set()
    for path in modules("adapters"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if (
                isinstance(node, ast.ClassDef)
                and not any(
                    isinstance(base, ast.Name) and base.id in {"Exception", "RuntimeError", "KeyError", "Protocol"}
                    for base in node.bases
                )
                and not node.name.endswith(("Error", "Conflict"))
            ):
                found.add(node.name)
    return found


def test_adapters_are_built_only_in_the_composition_root() -> None:
    classes = adapter_classes()
    assert {"EventStore", "LocalEventStore", "LocalQueues", "Queues"} <= classes
    wrong = []
    for part in ("producers", "consumers", "projections", "crm", "events", "mail", "ports", "observability"):
        for path in modules(part):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} builds {node.func.id}")
    assert not wrong, "\n".join(wrong)


def test_no_handler_reads_a_global_container() -> None:
    """Handlers get their services passed in; only the Lambda entry builds them."""
    wrong = []
    for part in ("producers", "consumers", "projections", "crm"):
        for path in modules(part):
            text = path.read_text(encoding="utf-8")
            for needle in ("adapters.wiring", "services()", "os.environ.update", "os.environ["):
                if needle in text:
                    wrong.append(f"{path.relative_to(ROOT)} uses {needle}")
    assert not wrong, "\n".join(wrong)
