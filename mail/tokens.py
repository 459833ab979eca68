"""Signed thread tokens: the local part of the thread address.

A token names a conversation and carries an HMAC-SHA256 tag over it, truncated to
80 bits. Verification is constant-time and accepts the previous key too, so a key
can be rotated without breaking threads already in the owner's mailbox.

>>> token = sign("jane-doe-acme-3f2a1c", b"k1")
>>> verify(token, [b"k1"])
'jane-doe-acme-3f2a1c'
>>> verify(token, [b"other"]) is None
True
>>> len(token) <= 64
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_TAG_BYTES = 10
_SEPARATOR = "."
MAX_LOCAL_PART = 64


class TokenError(ValueError):
    pass


def _tag(conversation_id: str, key: bytes) -> str:
    digest = hmac.new(key, conversation_id.encode(), hashlib.sha256).digest()[:_TAG_BYTES]
    return base64.b32encode(digest).decode().rstrip("=").lower()


def sign(conversation_id: str, key: bytes) -> str:
    token = f"{conversation_id}{_SEPARATOR}{_tag(conversation_id, key)}"
    if len(token) > MAX_LOCAL_PART:
        raise TokenError(f"conversation id {conversation_id!r} is too long for a 64-character local part")
    return token


def verify(token: str, keys: list[bytes]) -> str | None:
    """The conversation id if ``token`` was signed by one of ``keys``; else None."""
    conversation_id, separator, tag = token.strip().lower().rpartition(_SEPARATOR)
    if not separator or not conversation_id or not tag:
        return None
    valid = False
    for key in keys:
        # check every key, always: timing does not tell which one matched
        valid |= hmac.compare_digest(_tag(conversation_id, key), tag)
    return conversation_id if valid else None


def thread_address(conversation_id: str, key: bytes, reply_domain: str) -> str:
    return f"{sign(conversation_id, key)}@{reply_domain}"
