"""The README's layout paragraph matches the tree: every top-level folder and module of
the checkout is described, nothing described is missing, and each module the paragraph
names inside a package exists there."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT


def layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("the layout follows it:")
    return text[start : text.index("\n\n", start)]


def tracked_top_level() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    names = set()
    for name in files:
        head, sep, _rest = name.partition("/")
        if sep and not head.startswith("."):
            names.add(f"{head}/")
        elif not sep and name.endswith(".py"):
            names.add(name)
    return names


def test_every_top_level_folder_and_module_is_described_and_exists() -> None:
    described = set(re.findall(r"`([a-z_]+/|[a-z_]+\.py)`", layout()))
    tracked = tracked_top_level()
    assert tracked <= described, f"not in the README's layout: {sorted(tracked - described)}"
    missing = {name for name in described if "/" in name or name.endswith(".py")} - tracked
    assert not {m for m in missing if not (ROOT / m).exists()}, sorted(missing)


def test_the_modules_named_for_mail_and_extraction_exist() -> None:
    text = layout()
    for package, following in (("mail", "extraction/"), ("extraction", "crm/")):
        clause = text[text.index(f"`{package}/`") : text.index(f"`{following}`")]
        named = set(re.findall(r"`([a-z_]+)`", clause))
        assert named, f"the README names no module of {package}/"
        absent = sorted(n for n in named if not (ROOT / package / f"{n}.py").exists())
        assert not absent, f"{package}/ has no {absent}"
