from __future__ import annotations

from pathlib import Path

import pytest

from crm.settings import ConfigError, load_settings


def test_defaults_work_locally() -> None:
    settings = load_settings()
    assert settings.public_address == "hello@example.com"
    assert settings.domain == "example.com"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "crm.toml"
    config.write_text(
        'public_address = "hi@file.example"\nprivate_mailbox = "me@file.example"\nreply_domain = "r.file.example"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CRM_CONFIG", str(config))
    assert load_settings().public_address == "hi@file.example"
    monkeypatch.setenv("CRM_PUBLIC_ADDRESS", "Contact@Env.Example")
    monkeypatch.setenv("CRM_PRIVATE_MAILBOX", "me@env.example")
    monkeypatch.setenv("CRM_REPLY_DOMAIN", "reply.env.example")
    settings = load_settings()
    assert (settings.public_address, settings.private_mailbox, settings.reply_domain) == (
        "contact@env.example",
        "me@env.example",
        "reply.env.example",
    )


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("CRM_PRIVATE_MAILBOX", "not-an-address", "private_mailbox"),
        ("CRM_REPLY_DOMAIN", "nodots", "reply_domain"),
        ("CRM_SCAN_KB", "-3", "scan_kb"),
        ("CRM_PRIVATE_MAILBOX", "hello@example.com", "mail loop"),
    ],
)
def test_a_bad_value_is_reported_by_name(monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        load_settings()


def test_a_broken_config_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "crm.toml"
    config.write_text("public_address = [unclosed", encoding="utf-8")
    monkeypatch.setenv("CRM_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"crm\.toml"):
        load_settings()


def test_every_bad_value_is_named_not_only_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_SCAN_KB", "0")
    monkeypatch.setenv("CRM_MATCH_LIMIT", "many")
    monkeypatch.setenv("CRM_STATUS_SHARDS", "65")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert all(name in str(raised.value) for name in ("scan_kb", "match_limit", "status_shards"))


def test_a_list_variable_that_is_not_json_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ALIASES", "a@example.com, b@example.com")
    with pytest.raises(ConfigError, match="CRM_ALIASES is not JSON") as raised:
        load_settings()
    assert "file" not in str(raised.value)


def test_variables_are_converted_to_their_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_SCAN_KB", "128")
    monkeypatch.setenv("CRM_SPAM_THRESHOLD", "6.5")
    monkeypatch.setenv("CRM_ALIASES", '["Jobs@Example.com"]')
    settings = load_settings()
    assert (settings.scan_kb, settings.spam_threshold, settings.aliases) == (128, 6.5, ["jobs@example.com"])
