"""The Message-IDs of the mail the system writes: one per cause, so a resent mail is
recognisably the same mail (threading, the outbox audit)."""

from __future__ import annotations


def ack_message_id(conversation_id: str, ses_message_id: str, domain: str) -> str:
    return f"<ack.{ses_message_id}.{conversation_id}@{domain}>"


def reply_message_id(ses_message_id: str, domain: str) -> str:
    return f"<reply.{ses_message_id}@{domain}>"
