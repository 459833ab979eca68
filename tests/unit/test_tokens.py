from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mail.tokens import MAX_LOCAL_PART, sign, thread_address, verify
from producers.identity import identify

KEY, OLD = b"current-key", b"previous-key"


def test_a_signed_token_verifies_and_names_the_conversation() -> None:
    assert verify(sign("jane-doe-acme-1a2b3c4d", KEY), [KEY]) == "jane-doe-acme-1a2b3c4d"


def test_a_forged_or_altered_token_does_not_verify() -> None:
    token = sign("jane-doe-acme-1a2b3c4d", KEY)
    assert verify(token, [b"another key"]) is None
    assert verify(token.replace("jane", "john"), [KEY]) is None
    assert verify("jane-doe-acme-1a2b3c4d", [KEY]) is None
    assert verify("", [KEY]) is None


def test_the_previous_key_is_accepted_during_rotation() -> None:
    old_token = sign("c1", OLD)
    assert verify(old_token, [KEY, OLD]) == "c1"
    assert verify(old_token, [KEY]) is None


def test_verification_is_case_insensitive_as_mail_local_parts_often_are() -> None:
    assert verify(sign("c1", KEY).upper(), [KEY]) == "c1"


@given(st.emails(), st.text(max_size=80))
def test_every_conversation_id_fits_a_local_part(address: str, name: str) -> None:
    conversation_id = identify(address, name, relay_domains=["linkedin.com"]).conversation_id
    address_out = thread_address(conversation_id, KEY, "reply.example.com")
    assert len(address_out.split("@")[0]) <= MAX_LOCAL_PART
    assert verify(address_out.split("@")[0], [KEY]) == conversation_id
