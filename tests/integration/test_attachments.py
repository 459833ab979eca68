"""Real PDF and DOCX attachments through the whole flow: stored, extracted, recorded."""

from __future__ import annotations

import io
from typing import Any

from tests.conftest import deliver, make_mail
from tests.unit.test_extraction import make_pdf


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_attachments_are_stored_and_their_text_extracted(stack: Any) -> None:
    raw = make_mail(
        attachments=[
            (
                "role.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                docx_bytes("Staff Platform Engineer, remote, 180-210k"),
            ),
            ("notes.txt", "text/plain", b"Interview loop: 4 rounds"),
            ("jd.pdf", "application/pdf", make_pdf(["Job description Staff Engineer"])),
            ("tool.exe", "application/octet-stream", b"MZ\x90\x00"),
        ]
    )
    result = deliver(stack, raw)
    events = [
        e.event for e in stack.svc.store.read(f"conversation#{result['conversation_id']}") if e.type == "AttachmentExtracted"
    ]
    by_name = {e.filename: e for e in events}  # type: ignore[attr-defined]
    assert set(by_name) == {"role.docx", "notes.txt", "jd.pdf", "tool.exe"}
    assert by_name["jd.pdf"].outcome == "extracted" and "Staff Engineer" in by_name["jd.pdf"].first_lines
    docx_event = by_name["role.docx"]
    assert docx_event.outcome == "extracted" and "Staff Platform Engineer" in docx_event.first_lines
    assert by_name["tool.exe"].outcome == "skipped"
    blobs = stack.svc.blobs
    assert blobs.get(docx_event.key).startswith(b"PK")
    assert b"180-210k" in blobs.get(docx_event.text_key)
    assert docx_event.key.startswith(f"attachments/{result['conversation_id']}/{result['ses_message_id']}/")
    assert docx_event.text_key.startswith("extracted/")
