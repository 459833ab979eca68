"""The reply and forward prefixes of a subject line ("Re:", "AW:", "Fwd:", "SV [2]:" ...).

One pattern for the acknowledgement's topic and for the reply subject the
producers write, so the two cannot disagree about what a prefix is.

>>> strip_reply_prefix("RE: AW[2]: Fwd : Antw: hello")
'hello'
>>> strip_reply_prefix("Reply needed")
'Reply needed'
"""

from __future__ import annotations

import re

# re (English), aw/antw/antwort (German, Dutch), sv (Nordic), vs (Finnish), fw/fwd
# (forward), wg (German forward); each optionally numbered "[2]" or "(2)" as
# Outlook and some lists write it, with any spacing around the colon.
REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw|antwort|sv|vs|fwd?|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.IGNORECASE,
)


def strip_reply_prefix(subject: str) -> str:
    """The subject without its leading reply and forward prefixes, stripped."""
    return REPLY_PREFIX.sub("", subject).strip()


__all__ = ["REPLY_PREFIX", "strip_reply_prefix"]
