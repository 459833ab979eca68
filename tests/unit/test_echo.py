"""What an acknowledgement repeats of the sender's words (issue 11, finding 4: the ack
reflected "Hello Buy now at …" with the spammer's link)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mail.echo import NAME_LIMIT, SUBJECT_LIMIT, echo
from tests.unit.compose_support import ack, parse, texts

LINKS = st.sampled_from(
    [
        "http://cheap.example/buy",
        "https://x.example",
        "HTTPS://Evil.Example/a?b=c",
        "www.pills.example",
        "pills.example/buy-now",
        "cheap-pills.shop",
        "mailto:x@y.example",
        "spam@evil.example",
        "<spam@evil.example>",
        "data:text/html,hi",
        "ftp://files.example/x",
    ]
)
WORDS = st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), max_size=30)
LINKISH = re.compile(r"(?i)://|@|\bwww\.|\.(example|shop)\b|mailto:|data:")


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.one_of(WORDS, LINKS), max_size=8), limit=st.sampled_from([NAME_LIMIT, SUBJECT_LIMIT]))
def test_no_link_or_address_survives_and_the_length_is_bounded(parts: list[str], limit: int) -> None:
    out = echo(" ".join(parts), limit)
    assert len(out) <= limit
    assert not LINKISH.search(out), out
    assert "\n" not in out and "\r" not in out


def test_the_acknowledgement_of_a_spammer_repeats_no_link() -> None:
    msg = parse(ack(name="Buy now at http://cheap.example/x", subject="Buy now at www.pills.example cheap " * 5))
    for text in (*texts(msg, "plain"), *texts(msg, "html"), str(msg["Subject"])):
        assert not LINKISH.search(text), text
    assert len(str(msg["Subject"])) <= len("Re: ") + SUBJECT_LIMIT
