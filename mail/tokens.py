"""Signed thread tokens: the local part of the thread address.

A token is ``<conversation id>.<tag>``: the tag is an HMAC-SHA256, truncated to 80
bits, over the conversation id *and* the SES message id of the inbound mail that
forwarded copy carries. The message is bound by the tag alone, not spelled out, so a
token still fits a 64-character local part whatever the conversation id's length;
:func:`resolve` finds the message by checking the tag against the conversation's
inbound messages (the reply Lambda reads that history anyway). A reply is therefore
answered to the message the owner answered, never to whoever wrote last.

Tokens from before messages were bound carry a tag over the conversation id alone;
:func:`resolve` still recognises them and returns a ref without a message, and the
caller decides what that may mean (the reply path accepts one only when the
conversation has a single correspondent).

Verification is constant-time and accepts the previous key too, so a key can be
rotated without breaking threads already in the owner's mailbox.

>>> token = sign_message("jane-doe-acme-3f2a1c", "ses-1", b"k1")
>>> resolve(token, [b"k1"], ["ses-0", "ses-1", "ses-2"])
ThreadRef(conversation_id='jane-doe-acme-3f2a1c', message_ref='ses-1')
>>> resolve(token, [b"other"], ["ses-1"]) is None
True
>>> resolve(sign("jane-doe-acme-3f2a1c", b"k1"), [b"k1"], ["ses-1"])
ThreadRef(conversation_id='jane-doe-acme-3f2a1c', message_ref=None)
>>> len(token) <= 64
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

import msgspec

_TAG_BYTES = 10
_SEPARATOR = "."
_MESSAGE_DOMAIN = b"message\x00"  # a message tag can never equal a conversation-only tag
MAX_LOCAL_PART = 64


class TokenError(ValueError):
    pass


class ThreadRef(msgspec.Struct, frozen=True):
    """What a verified token names. ``message_ref`` is None for a conversation-only token."""

    conversation_id: str
    message_ref: str | None


def _encode(digest: bytes) -> str:
    return base64.b32encode(digest[:_TAG_BYTES]).decode().rstrip("=").lower()


def _tag(conversation_id: str, key: bytes) -> str:
    return _encode(hmac.new(key, conversation_id.encode(), hashlib.sha256).digest())


def _message_tag(conversation_id: str, message_ref: str, key: bytes) -> str:
    data = _MESSAGE_DOMAIN + conversation_id.encode() + b"\x00" + message_ref.encode()
    return _encode(hmac.new(key, data, hashlib.sha256).digest())


def _token(conversation_id: str, tag: str) -> str:
    token = f"{conversation_id}{_SEPARATOR}{tag}"
    if len(token) > MAX_LOCAL_PART:
        raise TokenError(f"conversation id {conversation_id!r} is too long for a 64-character local part")
    return token


def sign(conversation_id: str, key: bytes) -> str:
    """A conversation-only token (the format before messages were bound)."""
    return _token(conversation_id, _tag(conversation_id, key))


def sign_message(conversation_id: str, message_ref: str, key: bytes) -> str:
    """The token of one forwarded copy: the conversation and the inbound message it forwards."""
    if not message_ref:
        raise TokenError("a message-bound token needs the message's reference")
    return _token(conversation_id, _message_tag(conversation_id, message_ref, key))


def conversation_of(token: str) -> str | None:
    """The conversation a token *claims* to name, unverified: which history to read."""
    conversation_id, separator, tag = token.strip().lower().rpartition(_SEPARATOR)
    return conversation_id if separator and conversation_id and tag else None


def resolve(token: str, keys: list[bytes], message_refs: Iterable[str]) -> ThreadRef | None:
    """What ``token`` names if one of ``keys`` signed it, else None.

    ``message_refs`` are the references of the claimed conversation's inbound
    messages; every one is checked with every key, always, so timing tells nothing.
    """
    conversation_id = conversation_of(token)
    if conversation_id is None:
        return None
    tag = token.strip().lower().rpartition(_SEPARATOR)[2]
    legacy = False
    found: str | None = None
    refs = list(dict.fromkeys(message_refs))
    for key in keys:
        legacy |= hmac.compare_digest(_tag(conversation_id, key), tag)
        for ref in refs:
            if hmac.compare_digest(_message_tag(conversation_id, ref, key), tag):
                found = ref
    if found is not None:
        return ThreadRef(conversation_id, found)
    return ThreadRef(conversation_id, None) if legacy else None


def verify(token: str, keys: list[bytes]) -> str | None:
    """The conversation id of a conversation-only token signed by one of ``keys``; else None."""
    ref = resolve(token, keys, ())
    return ref.conversation_id if ref else None


def thread_address(conversation_id: str, key: bytes, reply_domain: str) -> str:
    return f"{sign(conversation_id, key)}@{reply_domain}"


def message_thread_address(conversation_id: str, message_ref: str, key: bytes, reply_domain: str) -> str:
    return f"{sign_message(conversation_id, message_ref, key)}@{reply_domain}"
