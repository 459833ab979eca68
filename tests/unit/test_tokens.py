from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mail.tokens import (
    MAX_LOCAL_PART,
    ThreadRef,
    conversation_of,
    message_thread_address,
    resolve,
    sign,
    sign_message,
    thread_address,
    verify,
)
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


# --- message-bound tokens: each forwarded copy names its own message ------------------

message_refs = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=8, max_size=60), min_size=1, max_size=30, unique=True
)


@given(st.emails(), st.text(max_size=80), message_refs, st.data())
def test_a_message_token_fits_a_local_part_and_names_its_message(
    address: str, name: str, refs: list[str], data: st.DataObject
) -> None:
    conversation_id = identify(address, name, relay_domains=["linkedin.com"]).conversation_id
    ref = data.draw(st.sampled_from(refs))
    address_out = message_thread_address(conversation_id, ref, KEY, "reply.example.com")
    token = address_out.split("@")[0]
    assert len(token) <= MAX_LOCAL_PART
    assert resolve(token, [KEY], refs) == ThreadRef(conversation_id, ref)
    assert resolve(token.upper(), [OLD, KEY], reversed(refs)) == ThreadRef(conversation_id, ref)


@given(message_refs)
def test_a_message_token_never_names_another_message_or_a_forged_one(refs: list[str]) -> None:
    token = sign_message("jane-doe-acme-1a2b3c4d", refs[0], KEY)
    assert resolve(token, [KEY], refs[1:]) is None  # its message is not in the conversation
    assert resolve(token, [b"another key"], refs) is None
    assert resolve(token.replace("jane", "john"), [KEY], refs) is None
    assert verify(token, [KEY]) is None  # never mistaken for a conversation-only token


def test_message_tokens_survive_key_rotation_and_old_tokens_still_resolve_without_a_message() -> None:
    assert resolve(sign_message("c1", "ses-1", OLD), [KEY, OLD], ["ses-1"]) == ThreadRef("c1", "ses-1")
    assert resolve(sign_message("c1", "ses-1", OLD), [KEY], ["ses-1"]) is None
    assert resolve(sign("c1", KEY), [KEY], ["ses-1"]) == ThreadRef("c1", None)
    assert conversation_of("c1.abc") == "c1" and conversation_of("nodot") is None
