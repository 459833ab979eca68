"""checkov finds nothing wrong in infra/; every skip is inline, with a reason.

checkov runs once (module-scoped fixture, one test using it, so pytest-xdist does not
run it on both workers). It needs no network: ``--skip-download``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from .conftest import INFRA, REPO, tf_files

SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.fixture(scope="module")
def checkov_report() -> list[dict[str, Any]]:
    pytest.importorskip("checkov", reason="checkov is not installed (pip install -e '.[dev]')")
    command = [
        sys.executable, "-m", "checkov.main",
        "-d", str(INFRA.relative_to(REPO)),
        "--framework", "terraform",
        "--quiet", "--compact", "--skip-download",
        "-o", "json",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.strip(), f"checkov printed nothing; stderr:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_finds_no_failed_check(checkov_report: list[dict[str, Any]]) -> None:
    terraform = [r for r in checkov_report if r.get("check_type") == "terraform"]
    assert terraform, f"checkov did not scan terraform: {checkov_report}"
    summary = terraform[0]["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']}): {c['check_name']}"
        for report in terraform
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0
    # every module is reached from the example, so checkov evaluates it with values
    assert summary["resource_count"] >= 60
    assert summary["passed"] >= 150


def test_every_skip_is_inline_with_a_reason() -> None:
    skips = 0
    for path in tf_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = SKIP.search(line)
            if not match:
                continue
            skips += 1
            where = f"{path.relative_to(REPO)}:{number}"
            assert re.fullmatch(r"CKV2?_AWS_\d+", match.group(1)), f"{where}: skip names no check"
            reason = (match.group(2) or "").strip()
            assert len(reason.split()) >= 6, f"{where}: skip of {match.group(1)} needs a reason a reviewer accepts"
    assert skips < 20, "that many skips: fix the HCL instead"


def test_no_config_file_or_baseline_hides_checks() -> None:
    for name in (".checkov.yaml", ".checkov.yml", ".checkov.baseline"):
        assert not (REPO / name).exists()
        assert not (INFRA / name).exists()
