"""Reply commands: ``[TITLE: Staff Engineer]`` lines in the owner's new text."""

from __future__ import annotations

import pytest

from mail.commands import KNOWN_COMMANDS, ParsedCommands, parse_commands


def test_known_commands_in_order_with_field_names() -> None:
    parsed = parse_commands(
        "[COMPANY: Acme]\n[TITLE: Staff Engineer]\n[LOCATION: Berlin]\n[SALARY: 120k-140k]\n"
        "[JOB-ID: R-123]\n[STATUS: interviewing]\n[NOTES: first call went well]\n[NOTE: second note]\n"
    )
    assert parsed.commands == [
        ("company", "Acme"),
        ("title", "Staff Engineer"),
        ("location", "Berlin"),
        ("salary", "120k-140k"),
        ("job_id", "R-123"),
        ("status", "interviewing"),
        ("notes", "first call went well"),
        ("notes", "second note"),
    ]
    assert parsed.unknown == []
    assert parsed.remaining_text == ""
    assert len(parsed.lines) == 8


def test_every_known_command_maps_to_a_field() -> None:
    for name, field in KNOWN_COMMANDS.items():
        assert parse_commands(f"[{name}: x]").commands == [(field, "x")]


@pytest.mark.parametrize(
    "line",
    ["[title: Staff]", "[Title: Staff]", "  [ TITLE :   Staff   ]  ", "\t[TITLE:Staff]", "[tItLe: Staff]"],
)
def test_names_case_insensitive_and_spacing_tolerated(line: str) -> None:
    parsed = parse_commands(line + "\nHello")
    assert parsed.commands == [("title", "Staff")]
    assert parsed.lines == [line.strip()]
    assert parsed.remaining_text == "Hello"


@pytest.mark.parametrize(
    "text",
    [
        "[TITLE Staff]",  # no colon
        "I said [TITLE: Staff] yesterday",  # not a line of its own
        "[1TITLE: Staff]",  # name must start with a letter
        "(TITLE: Staff)",
        "[TITLE: Staff",
        "TITLE: Staff",
    ],
)
def test_not_commands(text: str) -> None:
    parsed = parse_commands(text)
    assert parsed.commands == []
    assert parsed.lines == []
    assert parsed.unknown == []
    assert parsed.remaining_text == text


def test_unknown_names_are_listed_and_stay_in_the_text() -> None:
    parsed = parse_commands("[FOO: bar]\n[TITLE: Staff]\nHi")
    assert parsed.commands == [("title", "Staff")]
    assert parsed.unknown == ["[FOO: bar]"]
    assert parsed.lines == ["[TITLE: Staff]"]
    assert parsed.remaining_text == "[FOO: bar]\nHi"


def test_empty_value_is_ignored_and_listed_as_unknown() -> None:
    parsed = parse_commands("[TITLE: ]\n[COMPANY:]\n[STATUS:  \t ]")
    assert parsed.commands == []
    assert parsed.unknown == ["[TITLE: ]", "[COMPANY:]", "[STATUS:  \t ]"]
    assert parsed.lines == []


def test_value_cleaned_and_cut() -> None:
    parsed = parse_commands("[NOTES: a\x00b\x07c\u202ed" + "x" * 1000 + "]")
    field, value = parsed.commands[0]
    assert field == "notes"
    assert len(value) == 500
    assert value.startswith("a b c")  # controls become spaces, formatting characters go
    assert "\u202e" not in value and "\x00" not in value


def test_value_may_contain_brackets_and_colons() -> None:
    parsed = parse_commands("[NOTE: call at 10:30 [CET] about: pay]")
    assert parsed.commands == [("notes", "call at 10:30 [CET] about: pay")]


def test_quoted_lines_do_not_count() -> None:
    parsed = parse_commands("[TITLE: New]\n> [TITLE: Old]\n>[STATUS: quoted]\n  > [COMPANY: X]\n")
    assert parsed.commands == [("title", "New")]
    assert parsed.remaining_text == ""


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 1 Jan 2024 at 10:00, Alice <alice@example.com> wrote:",
        "on Mon, Jan 1, 2024 at 10:00 AM Alice Smith <alice@example.com> wrote:",
        "On Mon, 1 Jan 2024 at 10:00, Alice Smith <alice@example.com>\nwrote:",
        "-----Original Message-----",
    ],
)
def test_nothing_after_the_attribution_counts(attribution: str) -> None:
    text = f"Thanks!\n[STATUS: replied]\n\n{attribution}\n[TITLE: from the quoted mail]\nold text\n"
    parsed = parse_commands(text)
    assert parsed.commands == [("status", "replied")]
    assert parsed.remaining_text == "Thanks!"


def test_a_line_starting_with_on_is_not_an_attribution() -> None:
    parsed = parse_commands("On second thought, yes.\n[TITLE: Staff]")
    assert parsed.commands == [("title", "Staff")]
    assert parsed.remaining_text == "On second thought, yes."


def test_annotation_only_commands_and_quote_and_signature() -> None:
    text = (
        "[STATUS: closed]\r\n\r\n[NOTES: not a fit]\r\n\r\n-- \r\nOwner Name\r\n+49 123\r\n\r\n"
        "On Tue, 2 Jan 2024, Bob <bob@example.org> wrote:\r\n> Hello, anything new?\r\n"
    )
    parsed = parse_commands(text)
    assert parsed.commands == [("status", "closed"), ("notes", "not a fit")]
    assert parsed.remaining_text == ""


def test_signature_without_trailing_space_still_ends_the_text() -> None:
    parsed = parse_commands("[TITLE: x]\n--\nOwner")
    assert parsed.remaining_text == ""


def test_real_text_is_not_an_annotation() -> None:
    parsed = parse_commands("[TITLE: Staff Engineer]\nHi Bob,\n\nthanks, Tuesday works.\n-- \nOwner\n> quoted")
    assert parsed.commands == [("title", "Staff Engineer")]
    assert parsed.remaining_text == "Hi Bob,\n\nthanks, Tuesday works."


def test_commands_in_the_signature_are_recognised_but_signature_is_not_text() -> None:
    parsed = parse_commands("Thanks\n-- \nOwner\n[COMPANY: Acme]")
    assert parsed.commands == [("company", "Acme")]
    assert parsed.remaining_text == "Thanks"


def test_lines_are_the_exact_stripped_lines_for_removal() -> None:
    parsed = parse_commands("Hi\r\n   [ Title :  Staff  Engineer ]   \r\n")
    assert parsed.lines == ["[ Title :  Staff  Engineer ]"]
    assert parsed.commands == [("title", "Staff  Engineer")]


def test_empty_text() -> None:
    assert parse_commands("") == ParsedCommands(commands=[], unknown=[], lines=[], remaining_text="")


def test_result_is_frozen() -> None:
    parsed = parse_commands("x")
    with pytest.raises(AttributeError):
        parsed.remaining_text = "y"  # type: ignore[misc]
