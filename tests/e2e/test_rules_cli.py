"""`crm rules validate` and `crm rules match` over the whole case table; every built-in
pattern passes EventBridge's rules; exports refuse what EventBridge would refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap import rules as hook_rules
from consumers.rules.registry import Registry
from crm import topology
from crm.cli import main
from events.pattern_rules import validate_pattern
from tests.eventbridge_cases import CASES, INVALID, MATCH, Case


def _write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_and_match_answer_each_case(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pattern = _write(tmp_path, "pattern.json", case.pattern)
    event = _write(tmp_path, "event.json", case.event)
    if case.expected == INVALID:
        assert main(["rules", "validate", pattern]) == 2
        assert main(["rules", "match", pattern, event]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("invalid pattern at ") == 2  # the place in the pattern, then the problem
        return
    assert main(["rules", "validate", pattern]) == 0
    assert capsys.readouterr().out == "valid\n"
    assert main(["rules", "match", pattern, event]) == 0
    assert capsys.readouterr().out == ("match\n" if case.expected == MATCH else "no match\n")


def test_unreadable_files_are_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    pattern = _write(tmp_path, "pattern.json", {"source": ["x"]})
    assert main(["rules", "validate", str(tmp_path / "absent.json")]) == 2
    assert main(["rules", "validate", str(tmp_path / "broken.json")]) == 2
    assert main(["rules", "match", pattern, str(tmp_path / "broken.json")]) == 2
    assert main(["rules", "match", pattern]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_every_builtin_rule_and_topology_pattern_is_valid() -> None:
    rules = hook_rules().rules()
    assert rules
    for rule in rules:
        validate_pattern(rule.pattern)
    for consumer in topology.consumers():
        for pattern in consumer.patterns.values():
            validate_pattern(pattern)


def test_exports_refuse_while_a_rule_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "bad_rules"
    rules.mkdir()
    (rules / "bad.py").write_text(
        "from consumers.rules import rule\n\n\n"
        "@rule('bad-prefix', pattern={'source': [{'anything-but': {'prefix': 123}}]})\n"
        "def bad(event, context):\n    return []\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CRM_RULES_MODULE", str(rules))
    try:
        output = tmp_path / "topology.json"
        assert main(["rules", "export", "--output", str(output)]) == 2
        assert main(["infra", "export", "--output", str(output)]) == 2
        assert not output.exists()
        err = capsys.readouterr().err
        assert "bad-prefix" in err and "source[0].anything-but.prefix" in err
        assert main(["rules", "list", "--json"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert {"name": "bad-prefix", "refused": hook_rules(str(rules)).refused["bad-prefix"]} in listed
        assert "lead-scoring" in {r["name"] for r in listed}
    finally:
        import sys

        sys.modules.pop("crm_user_rules.bad", None)


def test_the_readme_lists_every_operator() -> None:
    from events.pattern_rules import ANYTHING_BUT_FORMS, OPERATORS
    from tests.conftest import ROOT

    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Add a rule", 1)[1].split("\n## ", 1)[0]
    for operator in (*OPERATORS, "$or"):
        assert f"| `{operator}`" in section, operator
    for form in ANYTHING_BUT_FORMS:
        assert f'{{"{form}": ' in section, form


def test_a_direct_registration_still_raises() -> None:
    registry = Registry()
    with pytest.raises(ValueError, match="anything-but"):
        registry.rule("x", pattern={"source": [{"anything-but": {"prefix": 123}}]})(lambda e, c: [])
