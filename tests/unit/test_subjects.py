"""One reply/forward prefix pattern: every generated prefix chain is removed, nothing else is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mail.subjects import strip_reply_prefix

WORDS = ["Re", "RE", "re", "rE", "Aw", "AW", "aw", "Fwd", "FWD", "Fw", "FW", "SV", "sv", "Antw", "ANTW", "Antwort", "WG", "Vs"]
SPACE = st.sampled_from(["", " ", "  ", "\t"])
NUMBER = st.one_of(st.just(""), st.integers(0, 999).map(lambda n: f"[{n}]"), st.integers(0, 99).map(lambda n: f"({n})"))


@st.composite
def prefix(draw: st.DrawFn) -> str:
    return f"{draw(st.sampled_from(WORDS))}{draw(SPACE)}{draw(NUMBER)}{draw(SPACE)}:{draw(SPACE)}"


# a topic that does not itself start like a prefix: the first word is never followed by ":"
TOPIC = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ,.!?-]{0,40}", fullmatch=True).filter(lambda t: ":" not in t and t.strip() == t)


@given(st.lists(prefix(), min_size=1, max_size=5), SPACE, TOPIC)
def test_every_prefix_chain_is_removed(prefixes: list[str], lead: str, topic: str) -> None:
    assert strip_reply_prefix(lead + "".join(prefixes) + topic) == topic


@given(TOPIC)
def test_a_subject_without_prefix_is_kept(topic: str) -> None:
    assert strip_reply_prefix(topic) == topic


@given(st.sampled_from(["Reply", "Aware", "Svelte", "Fwding", "Antwerp", "Review"]), SPACE, TOPIC)
def test_words_that_only_start_like_a_prefix_are_kept(word: str, space: str, topic: str) -> None:
    subject = f"{word}{space}: {topic}"
    assert strip_reply_prefix(subject) == subject
