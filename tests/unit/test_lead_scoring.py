from __future__ import annotations

from consumers.rules.lead_scoring import band, score_message
from events import MessageReceived, load
from events.catalogue import AttachmentInfo


def message(**values: object) -> MessageReceived:
    base: dict[str, object] = {
        "conversation_id": "c",
        "ses_message_id": "s",
        "bucket": "b",
        "raw_key": "k",
        "received_at": "2026-11-20T10:00:00Z",
        "from_address": "jane@gmail.com",
        "subject": "Hello",
    }
    return load(MessageReceived, {**base, **values})


def test_a_plain_note_from_freemail_scores_nothing() -> None:
    assert score_message(message(), None, {}) == (0, [])


def test_each_signal_counts_and_says_why() -> None:
    score, reasons = score_message(
        message(
            from_address="jane@acme.com",
            title="Staff Engineer",
            subject="A role for you",
            attachments=[AttachmentInfo(filename="job-description.pdf", content_type="application/pdf", size=10, part="2")],
        ),
        None,
        {},
    )
    assert score == 20 + 15 + 20 + 10
    assert len(reasons) == 4 and any("job description" in r for r in reasons)
    assert band(score) == "hot"


def test_a_fast_answer_to_the_owner_scores_more_than_a_slow_one() -> None:
    fast, fast_reasons = score_message(
        message(received_at="2026-11-20T10:00:00Z"), {"messages_in": 2, "last_outbound": "2026-11-19T20:00:00Z"}, {}
    )
    slow, _ = score_message(
        message(received_at="2026-11-30T10:00:00Z"), {"messages_in": 2, "last_outbound": "2026-11-19T20:00:00Z"}, {}
    )
    assert fast > slow > 0
    assert any("within 14 h" in r for r in fast_reasons)


def test_weights_are_configuration() -> None:
    score, _ = score_message(message(subject="A role for you"), None, {"opportunity_wording": 50})
    assert score == 50 and band(score) == "warm"
