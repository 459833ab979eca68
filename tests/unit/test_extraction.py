"""Tests for the extraction package, on real PDF/DOCX/HTML/text files generated here."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from extraction import DOCX_CONTENT_TYPE, Extraction, Limits, extract_text, kind_of

OUTCOMES = {"extracted", "skipped", "failed"}
KINDS = {"pdf", "docx", "text", "html", "unknown"}


# --------------------------------------------------------------------------- file builders


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF written by hand: one Helvetica text line per page, exact xref offsets."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    kids = []
    for index, text in enumerate(pages):
        page_id, content_id = 4 + 2 * index, 5 + 2 * index
        kids.append(f"{page_id} 0 R")
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id
        )
        objects[content_id] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref_at = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref_at)
    return bytes(out)


def encrypt_pdf(data: bytes, user_password: str, owner_password: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Dear Staff Engineer,")
    document.add_paragraph("please find   the\tfigures below.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Region"
    table.cell(0, 1).text = "Revenue"
    table.cell(1, 0).text = "Nordics"
    table.cell(1, 1).text = "42 MEUR"
    document.add_paragraph("Kind regards")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip_bomb(megabytes: int = 50) -> bytes:
    buffer = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w") as member:
            for _ in range(megabytes):
                member.write(chunk)
    return buffer.getvalue()


# --------------------------------------------------------------------------- PDF


def test_handwritten_pdf_is_valid() -> None:
    reader = PdfReader(io.BytesIO(make_pdf(["one", "two"])), strict=True)
    assert len(reader.pages) == 2


def test_pdf_text_is_extracted() -> None:
    result = extract_text("cv.pdf", "application/pdf", make_pdf(["Hello Staff Engineer"]))
    assert result.outcome == "extracted"
    assert result.kind == "pdf"
    assert result.reason is None
    assert "Hello Staff Engineer" in result.text


def test_pdf_detected_by_magic_despite_wrong_type_and_name() -> None:
    result = extract_text("blob.bin", "application/octet-stream", make_pdf(["Magic Bytes Win"]))
    assert result.kind == "pdf"
    assert "Magic Bytes Win" in result.text


def test_encrypted_pdf_fails() -> None:
    data = encrypt_pdf(make_pdf(["Top Secret"]), user_password="s3cret")
    result = extract_text("secret.pdf", "application/pdf", data)
    assert result.outcome == "failed"
    assert result.reason == "encrypted PDF"
    assert result.text == ""


def test_pdf_encrypted_with_empty_user_password_is_read() -> None:
    data = encrypt_pdf(make_pdf(["Owner Only Lock"]), user_password="", owner_password="owner")
    assert PdfReader(io.BytesIO(data)).is_encrypted
    result = extract_text("locked.pdf", "application/pdf", data)
    assert result.outcome == "extracted"
    assert "Owner Only Lock" in result.text


@pytest.mark.parametrize(
    "data",
    [
        make_pdf(["Hello Staff Engineer"])[:60],
        b"%PDF-1.7\n this is not a pdf at all",
        b"",
    ],
    ids=["truncated", "garbage", "empty"],
)
def test_broken_pdf_fails_without_raising(data: bytes) -> None:
    result = extract_text("broken.pdf", "application/pdf", data)
    assert result.outcome == "failed"
    assert result.kind == "pdf"
    assert result.reason is not None
    assert "PDF" in result.reason


def test_pdf_page_limit_truncates() -> None:
    data = make_pdf(["Alpha page", "Bravo page", "Charlie page"])
    result = extract_text("three.pdf", "application/pdf", data, Limits(max_pages=2))
    assert result.outcome == "extracted"
    assert "Alpha page" in result.text
    assert "Bravo page" in result.text
    assert "Charlie" not in result.text
    assert result.reason is not None
    assert "truncated at 2 pages" in result.reason


def test_pdf_time_limit_keeps_what_it_has() -> None:
    result = extract_text("three.pdf", "application/pdf", make_pdf(["A", "B", "C"]), Limits(max_seconds=-1))
    assert result.outcome == "extracted"
    assert result.reason is not None
    assert "time limit" in result.reason


# --------------------------------------------------------------------------- DOCX


def test_docx_paragraphs_and_table_cells_in_order() -> None:
    result = extract_text("letter.docx", DOCX_CONTENT_TYPE, make_docx())
    assert result.outcome == "extracted", result.reason
    assert result.kind == "docx"
    assert result.reason is None
    lines = result.text.splitlines()
    assert lines == [
        "Dear Staff Engineer,",
        "please find the figures below.",
        "Region | Revenue",
        "Nordics | 42 MEUR",
        "Kind regards",
    ]


def test_docx_detected_by_zip_content_despite_generic_type() -> None:
    data = make_docx()
    assert kind_of("attachment", "application/octet-stream", data) == "docx"
    assert "Nordics" in extract_text("attachment", "application/octet-stream", data).text


def test_docx_merged_cells_appear_once() -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Wide"
    table.cell(0, 2).text = "Narrow"
    buffer = io.BytesIO()
    document.save(buffer)
    result = extract_text("m.docx", DOCX_CONTENT_TYPE, buffer.getvalue())
    assert result.text == "Wide | Narrow"


def test_docx_zip_bomb_by_ratio_is_not_opened() -> None:
    bomb = make_zip_bomb(50)
    assert len(bomb) < 1024 * 1024
    result = extract_text("bomb.docx", DOCX_CONTENT_TYPE, bomb)
    assert result.kind == "docx"
    assert result.outcome == "skipped"
    assert result.reason is not None
    assert result.reason.startswith("zip bomb (ratio ")
    assert result.text == ""


def test_docx_zip_bomb_by_total_size() -> None:
    data = make_docx()
    result = extract_text("big.docx", DOCX_CONTENT_TYPE, data, Limits(max_zip_total=10_000))
    assert result.outcome == "skipped"
    assert result.reason is not None
    assert "zip bomb" in result.reason


def test_broken_docx_fails() -> None:
    data = make_docx()
    result = extract_text("cut.docx", DOCX_CONTENT_TYPE, data[: len(data) // 2])
    assert result.outcome == "failed"
    assert result.kind == "docx"
    assert result.reason is not None
    assert "DOCX" in result.reason


def test_zip_without_word_document_is_unsupported() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "hello")
    result = extract_text("archive.zip", "application/zip", buffer.getvalue())
    assert result == Extraction("skipped", "unsupported type application/zip", "", "unknown")


# --------------------------------------------------------------------------- HTML


def test_html_drops_script_and_style_and_keeps_blocks() -> None:
    html = (
        b"<html><head><style>p { color: red }</style><script>alert('x')</script></head>"
        b"<body><h1>Offer</h1><p>Fish &amp; chips for &euro;5&#33;</p>"
        b"<div>line<br>break</div><ul><li>one</li><li>two</li></ul>"
        b"<table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )
    result = extract_text("mail.html", "text/html; charset=utf-8", html)
    assert result.outcome == "extracted"
    assert result.kind == "html"
    assert "alert" not in result.text
    assert "color" not in result.text
    lines = [line for line in result.text.splitlines() if line]  # blocks may be separated by one blank line
    assert lines == ["Offer", "Fish & chips for €5!", "line", "break", "one", "two", "a b"]
    assert "\n\n\n" not in result.text


def test_html_charset_from_meta() -> None:
    html = '<html><head><meta charset="iso-8859-1"></head><body><p>Grüße</p></body></html>'.encode("latin-1")
    result = extract_text("page.htm", "", html)
    assert result.kind == "html"
    assert result.text == "Grüße"


# --------------------------------------------------------------------------- plain text


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [
        ("text/plain", "note.txt"),
        ("text/plain; charset=ISO-8859-1", "note.txt"),
        ("text/plain; charset=utf-8", "note.txt"),  # wrong declaration: falls back
        ("application/octet-stream", "data.csv"),
    ],
)
def test_latin1_text(content_type: str, filename: str) -> None:
    result = extract_text(filename, content_type, "Grüße aus Köln;  Straße".encode("latin-1"))
    assert result.outcome == "extracted"
    assert result.kind == "text"
    assert result.text == "Grüße aus Köln; Straße"


def test_declared_charset_is_used() -> None:
    result = extract_text("x.txt", 'text/plain; charset="windows-1251"', "Привет".encode("cp1251"))
    assert result.text == "Привет"


def test_text_is_normalised() -> None:
    data = b"\xef\xbb\xbf  first\x00 line \t here \r\n\r\n\r\n\r\n second\x00\n\n"
    result = extract_text("a.md", "", data)
    assert result.text == "first line here\n\nsecond"


def test_max_chars_truncates() -> None:
    result = extract_text("long.txt", "text/plain", b"word " * 10_000, Limits(max_chars=100))
    assert result.outcome == "extracted"
    assert len(result.text) <= 100
    assert result.text.startswith("word word")
    assert result.reason == "truncated at 100 chars"
    exact = extract_text("exact.txt", "text/plain", b"0123456789", Limits(max_chars=10))
    assert exact == Extraction("extracted", None, "0123456789", "text")


def test_unknown_type_is_skipped() -> None:
    result = extract_text("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 not really")
    assert result == Extraction("skipped", "unsupported type image/jpeg", "", "unknown")


def test_over_size_is_skipped_without_reading() -> None:
    data = b"a" * (25 * 1024 * 1024)
    result = extract_text("huge.txt", "text/plain", data)
    assert result == Extraction("skipped", "over size limit (25.0 MB > 20.0 MB)", "", "text")


def test_over_size_small_limit() -> None:
    result = extract_text("cv.pdf", "application/pdf", make_pdf(["x"]), Limits(max_bytes=100))
    assert result.outcome == "skipped"
    assert result.kind == "pdf"
    assert result.reason is not None
    assert result.reason.startswith("over size limit")


@pytest.mark.parametrize(
    ("filename", "content_type", "data", "kind"),
    [
        ("a.txt", "text/plain", b"%PDF-1.4", "pdf"),
        ("a.pdf", "application/pdf", b"junk", "pdf"),
        ("a", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"", "docx"),
        ("a.docx", "", b"", "docx"),
        ("a", "TEXT/HTML; charset=utf-8", b"", "html"),
        ("a.html", "application/octet-stream", b"", "html"),
        ("a", "text/csv", b"", "text"),
        ("notes.MD", "", b"", "text"),
        ("a.zip", "application/zip", b"PK\x03\x04garbage", "unknown"),
        ("", "", b"", "unknown"),
    ],
)
def test_kind_of(filename: str, content_type: str, data: bytes, kind: str) -> None:
    assert kind_of(filename, content_type, data) == kind


# --------------------------------------------------------------------------- never raises

CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/pdf",
            DOCX_CONTENT_TYPE,
            "text/html",
            "text/plain; charset=utf-8",
            "text/plain; charset=punycode",
            "text/plain; charset=zlib",
            "text/plain; charset=nonsense",
            "text/html; charset=utf-16",
            "application/octet-stream",
            "",
        ]
    ),
    st.text(max_size=40),
)
FILENAMES = st.one_of(st.sampled_from(["a.pdf", "a.docx", "a.txt", "a.html", "a.csv", "a", ""]), st.text(max_size=20))
SMALL = Limits(max_chars=500, max_pages=3, max_seconds=2.0)


def _check(result: Extraction, limits: Limits) -> None:
    assert isinstance(result, Extraction)
    assert result.outcome in OUTCOMES
    assert result.kind in KINDS
    assert result.reason is None or isinstance(result.reason, str)
    assert len(result.text) <= limits.max_chars
    assert "\x00" not in result.text
    result.text.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    filename=FILENAMES,
    content_type=CONTENT_TYPES,
    data=st.one_of(
        st.binary(max_size=2048),
        st.binary(max_size=512).map(lambda b: b"%PDF-1.4\n" + b),
        st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),
        st.text(max_size=300).map(lambda s: s.encode("utf-8")),
    ),
)
def test_fuzz_random_bytes_never_raise(filename: str, content_type: str, data: bytes) -> None:
    _check(extract_text(filename, content_type, data, SMALL), SMALL)


VALID_FILES = [make_pdf(["Fuzz One", "Fuzz Two"]), make_docx()]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(VALID_FILES),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    cut=st.floats(0.05, 1.0),
)
def test_fuzz_mutated_real_files_never_raise(base: bytes, edits: list[tuple[float, int]], cut: float) -> None:
    data = bytearray(base)
    for where, value in edits:
        data[int(where * len(data))] = value
    data = data[: max(1, int(len(data) * cut))]
    _check(extract_text("f", "application/octet-stream", bytes(data), SMALL), SMALL)
