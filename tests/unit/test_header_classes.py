"""The parser's header classes and value cache stay bounded whatever names and values
mails use (issue 13: an unbounded set of per-header classes grew every process), and
each header still parses as its kind."""

from __future__ import annotations

from email.headerregistry import AddressHeader, UnstructuredHeader

from hypothesis import given, settings
from hypothesis import strategies as st

from mail.bounded import _parsed_header, parse_message

NAMES = st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=60).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None)
@given(headers=st.lists(st.tuples(NAMES, VALUES), min_size=2, max_size=30, unique_by=lambda h: h[0].lower()), sender=st.emails())
def test_header_classes_are_one_per_kind_and_headers_keep_their_kind(headers: list[tuple[str, str]], sender: str) -> None:
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers)
    raw = f"From: Someone <{sender}>\r\nSubject: hello\r\n{raw}\r\nbody\r\n"
    message, _defects = parse_message(raw.encode())
    assert isinstance(message["From"], AddressHeader)
    parsed = [message[name] for name, _value in headers]
    assert all(isinstance(header, UnstructuredHeader) for header in parsed)
    # every unstructured header is of one class (the stdlib makes one per header parsed)
    assert len({type(header) for header in parsed}) == 1
    assert _parsed_header.cache_info().currsize <= 512
