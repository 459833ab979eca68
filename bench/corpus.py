"""The mail corpus: the project's sample files plus mails generated in code.

Generated mails are deterministic (seeded) and legitimate ("ham"): varied sizes,
plain and HTML, multipart/alternative and multipart/mixed, attachments of every
kind the extractor reads (text, DOCX, PDF) and some it does not (PNG, zip), UTF-8
subjects and bodies, and follow-ups threaded with ``In-Reply-To``.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILE_FOLDERS = (ROOT / "examples" / "mail", ROOT / "tests" / "corpus")
PUBLIC_ADDRESS = "hello@example.com"


@dataclass(frozen=True)
class Sample:
    name: str
    raw: bytes
    kind: str  # file | generated


def file_samples() -> list[Sample]:
    """Every ``.eml`` under ``examples/mail`` and ``tests/corpus`` (placeholders left as they are)."""
    samples = []
    for folder in FILE_FOLDERS:
        if folder.is_dir():
            for path in sorted(folder.rglob("*.eml")):
                samples.append(Sample(path.relative_to(ROOT).as_posix(), path.read_bytes(), "file"))
    return samples


_FIRST = [
    "Jane",
    "Omar",
    "Li",
    "Sofia",
    "Mateo",
    "Aisha",
    "Noah",
    "Yuki",
    "Elena",
    "Kwame",
    "Priya",
    "Lars",
    "Chloé",
    "Jürgen",
    "Zoë",
    "Ana",
    "Tariq",
    "Mei",
    "Ivan",
    "Grace",
]
_LAST = [
    "Doe",
    "Haddad",
    "Wei",
    "Rossi",
    "García",
    "Khan",
    "Smith",
    "Tanaka",
    "Popescu",
    "Mensah",
    "Raman",
    "Nilsson",
    "Dubois",
    "Müller",
    "Okafor",
    "Silva",
    "Aziz",
    "Chen",
    "Petrov",
    "Hopper",
]
_COMPANIES = [
    "Acme Robotics",
    "Northwind Data",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Analytics",
    "Tyrell Systems",
    "Cyberdyne Labs",
    "Soylent Foods",
    "Hooli",
    "Vandelay Imports",
]
_ROLES = [
    "Staff Platform Engineer",
    "Senior Backend Developer",
    "Engineering Manager",
    "Principal Architect",
    "Data Scientist",
    "Head of Infrastructure",
    "Site Reliability Engineer",
    "Product Designer",
]
_WORDS = [
    "team",
    "platform",
    "event",
    "store",
    "projection",
    "latency",
    "throughput",
    "roadmap",
    "hiring",
    "interview",
    "salary",
    "remote",
    "onboarding",
    "customer",
    "pipeline",
    "release",
    "migration",
    "architecture",
    "budget",
    "quarter",
    "schedule",
    "review",
    "feedback",
    "contract",
    "proposal",
    "invoice",
    "meeting",
    "call",
    "availability",
    "reference",
    "deployment",
    "kubernetes",
    "python",
    "rust",
    "observability",
    "incident",
    "postmortem",
    "design",
    "document",
    "prototype",
    "benchmark",
]


def _paragraphs(rng: random.Random, size: int) -> str:
    """Roughly ``size`` characters of prose-like text in short paragraphs."""
    out: list[str] = []
    total = 0
    while total < size:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 18))).capitalize() + "."
        if rng.random() < 0.1:
            sentence += " Ça marche, grüße — 日本語も大丈夫です."
        out.append(sentence)
        total += len(sentence) + 1
        if rng.random() < 0.2:
            out.append("\n\n")
    return " ".join(out).replace(" \n\n ", "\n\n")


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` on it (hand-built, correct cross-reference table)."""
    lines = [line[:90] for line in text.encode("ascii", "replace").decode().splitlines() if line][:40]
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    stream = "BT /F1 10 Tf 50 780 Td 12 TL " + " ".join(f"({line}) '" for line in escaped) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    return f"<html><head><style>p {{ margin: 0 }}</style></head><body>{paragraphs}</body></html>"


# (label, body characters, html alternative, attachments)
_SHAPES: tuple[tuple[str, int, bool, tuple[str, ...]], ...] = (
    ("short-plain", 400, False, ()),
    ("medium-plain", 4_000, False, ()),
    ("alternative", 3_000, True, ()),
    ("long-plain", 60_000, False, ()),
    ("with-text-attachment", 2_000, True, ("txt",)),
    ("with-docx", 1_500, False, ("docx",)),
    ("with-pdf", 1_500, True, ("pdf",)),
    ("with-image", 800, True, ("png",)),
    ("many-attachments", 1_000, True, ("txt", "pdf", "docx", "png")),
    ("large-attachment", 1_000, False, ("bin",)),
    ("html-huge", 150_000, True, ()),
)


def generate(count: int, *, seed: int = 20261123, recipient: str = PUBLIC_ADDRESS, start_at: int = 0) -> list[Sample]:
    """``count`` legitimate mails cycling through every shape; every fifth one is a
    threaded follow-up of an earlier mail from the same sender."""
    rng = random.Random(seed + start_at)
    base = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    sent: list[tuple[str, str, str, str]] = []  # (from header, address, subject, message-id)
    samples = []
    for index in range(start_at, start_at + count):
        label, size, with_html, attachments = _SHAPES[index % len(_SHAPES)]
        message = EmailMessage()
        if sent and index % 5 == 4:
            from_header, address, first_subject, parent = rng.choice(sent)
            subject = f"Re: {first_subject}"
            message["In-Reply-To"] = parent
            message["References"] = parent
        else:
            first, last = _FIRST[index % len(_FIRST)], _LAST[(index * 7) % len(_LAST)]
            company = _COMPANIES[index % len(_COMPANIES)]
            domain = company.lower().replace(" ", "") + ".test"
            local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or "someone"
            address = f"{local}{index}@{domain}"
            from_header = f"{first} {last} <{address}>"
            role = _ROLES[index % len(_ROLES)]
            subject = f"{role} role at {company}" if index % 3 else f"Question about {rng.choice(_WORDS)} — {company}"
        message_id = make_msgid(idstring=f"bench{index}", domain=address.split("@")[1])
        sent.append((from_header, address, subject.removeprefix("Re: "), message_id))
        message["From"] = from_header
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = format_datetime(base + timedelta(minutes=7 * index))
        message["Message-ID"] = message_id
        body = _paragraphs(rng, size) + f"\n\n-- \n{from_header.split('<')[0].strip()}\n"
        message.set_content(body)
        if with_html:
            message.add_alternative(_html(body), subtype="html")
        for kind in attachments:
            note = _paragraphs(rng, 3_000)
            if kind == "txt":
                message.add_attachment(note, filename="notes.txt")
            elif kind == "docx":
                message.add_attachment(
                    _docx(note),
                    maintype="application",
                    subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                    filename="job-description.docx",
                )
            elif kind == "pdf":
                message.add_attachment(_pdf(note), maintype="application", subtype="pdf", filename="resume.pdf")
            elif kind == "png":
                message.add_attachment(
                    b"\x89PNG\r\n\x1a\n" + rng.randbytes(30_000), maintype="image", subtype="png", filename="diagram.png"
                )
            elif kind == "bin":
                message.add_attachment(rng.randbytes(1_200_000), maintype="application", subtype="zip", filename="portfolio.zip")
        samples.append(Sample(f"generated/{index:04d}-{label}", message.as_bytes(), "generated"))
    return samples
