"""What an acknowledgement may repeat of the mail it answers.

The ack quotes the sender's name and subject back to them ("Hello {name}, thank
you for your message about {subject}"). Whatever the sender wrote there goes out
under our domain's DKIM signature, so it is bounded: no links or anything that
looks like one (a spammer's "Buy now at cheap.example/x" as a name), no addresses,
and a few words at most.

>>> echo("Buy now at http://cheap.example/x and www.pills.example!", 40)
'Buy now at and'
>>> echo("Jane Doe <jane@acme.com>", 40)
'Jane Doe'
>>> echo("Staff Platform Engineer role at Acme Robotics, Berlin, remote possible", 40)
'Staff Platform Engineer role at Acme…'
>>> echo("visit cheap-pills.example/buy", 40), echo("", 40), echo("Re:Job at 10:30", 40)
('visit', '', 'Re:Job at 10:30')
"""

from __future__ import annotations

import re
import unicodedata

NAME_LIMIT = 40
SUBJECT_LIMIT = 80
_LINKISH = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.-]*://\S+|\b(?:mailto|data|javascript|tel|sms|file|ftp):\S+"  # links
    r"|\S+@\S+"  # an address
    r"|\bwww\.\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,63}(?:[/?#:]\S*)?(?=$|[\s,;!?)\]>'\"])"  # a bare domain, with a path or not
    r")"
)


def echo(text: str | None, limit: int) -> str:
    """``text`` without links or addresses, on one line, cut at a word to ``limit``."""
    value = unicodedata.normalize("NFKC", text or "")
    value = _LINKISH.sub(" ", value)
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1].rsplit(" ", 1)[0] if " " in value[: limit - 1] else value[: limit - 1]
    return cut.rstrip(" ,.;:-") + "…"
