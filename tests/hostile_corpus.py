"""A generator of hostile mail, one builder per attack, each scaled by a size argument.

Used by the tests (a sample of every class, the issue's measured cases exactly) and
by ``bench/hostile.py`` (the whole range). Every mail is bytes as SES would store
them; none is a file in the repository.
"""

from __future__ import annotations

import base64
import codecs
import encodings
import encodings.aliases
import pkgutil
import random
from collections.abc import Callable, Iterator
from pathlib import Path

CRLF = b"\r\n"
ROOT = Path(__file__).resolve().parents[1]
REAL = [*sorted((ROOT / "tests" / "corpus").rglob("*.eml")), *sorted((ROOT / "examples" / "mail").rglob("*.eml"))]
BASE = [
    b"From: Hostile <hostile@attacker.test>",
    b"To: hello@example.com",
    b"Subject: hostile",
    b"Date: Fri, 20 Nov 2026 10:00:00 +0000",
    b"Message-ID: <hostile@attacker.test>",
    b"MIME-Version: 1.0",
]


def _mail(headers: list[bytes], body: bytes = b"Hello.\r\n", *, base: list[bytes] | None = None) -> bytes:
    return CRLF.join([*(BASE if base is None else base), *headers]) + CRLF + CRLF + body


def nested_multipart(depth: int) -> bytes:
    """``depth`` levels of multipart/mixed, text at the bottom (1,000 deep crashed the parser)."""
    opening = b"".join(f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'.encode() for i in range(depth - 1))
    leaf = f"--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\ndeep down\r\n--b{depth - 1}--\r\n".encode()
    closing = b"".join(f"--b{i}--\r\n".encode() for i in reversed(range(depth - 1)))
    return _mail([b'Content-Type: multipart/mixed; boundary="b0"'], opening + leaf + closing)


def nested_rfc822(depth: int) -> bytes:
    """``depth`` message/rfc822 levels, each the whole body of the one above (1,000 crashed)."""
    inner = b"From: inner@attacker.test\r\nSubject: inner\r\n\r\ninnermost\r\n"
    return _mail([b"Content-Type: message/rfc822"], b"Content-Type: message/rfc822\r\n\r\n" * (depth - 1) + inner)


def nested_rfc822_in_multipart(depth: int) -> bytes:
    """message/rfc822 attachments nested ``depth`` deep, each a multipart with a text part."""
    body = b"From: inner@attacker.test\r\nSubject: inner\r\n\r\nbottom\r\n"
    for level in range(depth):
        boundary = f"r{level}".encode()
        body = (
            b"From: level@attacker.test\r\nContent-Type: multipart/mixed; boundary="
            + boundary
            + b"\r\n\r\n--"
            + boundary
            + b"\r\nContent-Type: text/plain\r\n\r\nlevel\r\n--"
            + boundary
            + b"\r\nContent-Type: message/rfc822\r\n\r\n"
            + body
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    head, _, rest = body.partition(b"\r\n\r\n")
    return _mail([head.split(b"\r\n")[1]], rest)


def many_params(count: int) -> bytes:
    """A Content-Type with ``count`` parameters (2,000 took the forward builder 72 s)."""
    params = "".join(f'; p{i}="v{i}"' for i in range(count))
    return _mail([f"Content-Type: text/plain; charset=utf-8{params}".encode()], b"Body with many params.\r\n")


def many_addresses(count: int, header: str = "To") -> bytes:
    """``count`` addresses in one header (100,000 took 139 s to decide)."""
    addresses = ", ".join(["hello@example.com", *(f"r{i}@v{i % 97}.test" for i in range(count - 1))])
    base = [line for line in BASE if not line.lower().startswith(header.lower().encode() + b":")]
    return _mail([f"{header}: {addresses}".encode()], base=base)


def nested_comments(count: int) -> bytes:
    """A From of ``count`` nested comments (20,000 made parseaddr recurse to death)."""
    base = [line for line in BASE if not line.startswith(b"From:")]
    return _mail([b"From: nested@attacker.test " + b"(" * count + b"x" + b")" * count], base=base)


def many_references(count: int) -> bytes:
    ids = " ".join(f"<ref{i}@attacker.test>" for i in range(count))
    return _mail([f"References: {ids}".encode(), f"In-Reply-To: {ids}".encode()])


def many_headers(count: int) -> bytes:
    return _mail([f"X-Header-{i}: value {i}".encode() for i in range(count)])


def long_header(size: int) -> bytes:
    return _mail([b"Subject: " + b"a" * size, b"X-Long: " + b"b " * (size // 2)])


def many_attachments(count: int, size: int = 64) -> bytes:
    parts = [b"--m\r\nContent-Type: text/plain\r\n\r\nSee the attached files.\r\n"]
    for i in range(count):
        parts.append(
            f'--m\r\nContent-Type: text/plain; name="f{i}.txt"\r\n'
            f'Content-Disposition: attachment; filename="f{i}.txt"\r\n\r\n'.encode()
            + f"file {i} ".encode() * (size // 8)
            + b"\r\n"
        )
    return _mail([b"Content-Type: multipart/mixed; boundary=m"], b"".join(parts) + b"--m--\r\n")


def big_mail(megabytes: int) -> bytes:
    """One base64 attachment making the mail ``megabytes`` MB."""
    data = random.Random(megabytes).randbytes(megabytes * 1024 * 1024 * 3 // 4)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return _mail(
        [b"Content-Type: multipart/mixed; boundary=big"],
        b"--big\r\nContent-Type: text/plain\r\n\r\nA big file.\r\n--big\r\n"
        b"Content-Type: application/pdf; name=big.pdf\r\nContent-Disposition: attachment; filename=big.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--big--\r\n",
    )


def codec_names() -> list[str]:
    """Every codec name Python knows: the aliases, their targets and the encodings modules."""
    names = set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values())
    names |= {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    names |= {
        "idna",
        "punycode",
        "rot13",
        "rot_13",
        "unicode_escape",
        "raw_unicode_escape",
        "undefined",
        "base64",
        "zlib",
        "bz2",
        "hex",
        "uu",
        "quopri",
        "utf-7",
        "x-nonexistent",
    }
    for name in list(names):
        try:
            names.add(codecs.lookup(name).name)
        except LookupError:
            continue
    return sorted(names)


def charset_mail(name: str) -> bytes:
    """A text part and an HTML part in ``name``, and encoded words in it, in the subject and From."""
    word = "=?" + name + "?q?caf=E9=2E_xn--bcher-kva?="
    base = [
        b"From: " + word.encode() + b" <charset@attacker.test>",
        b"To: hello@example.com",
        b"Subject: " + word.encode(),
        b"Message-ID: <charset@attacker.test>",
        b"MIME-Version: 1.0",
    ]
    body = (
        b'--c\r\nContent-Type: text/plain; charset="' + name.encode() + b'"\r\n\r\n'
        b"caf\xe9 xn--bcher-kva .. \\u1234 \xff\xfe\r\n"
        b"--c\r\nContent-Type: text/html; charset=" + name.encode() + b"\r\n\r\n<p>caf\xe9 \x80</p>\r\n"
        b"--c\r\nContent-Type: text/plain; charset=" + name.encode() + b"; name=a.txt\r\n"
        b'Content-Disposition: attachment; filename="' + word.encode() + b'"\r\n\r\nattached \xe9\r\n--c--\r\n'
    )
    return _mail([b"Content-Type: multipart/mixed; boundary=c"], body, base=base)


def real_mails() -> list[bytes]:
    found = [p.read_bytes() for p in REAL]
    shared = ROOT.parent / "shared" / "fixtures"
    if shared.is_dir():
        found += [p.read_bytes() for p in sorted(shared.rglob("*.eml"))]
    return found


def mutate(raw: bytes, rng: random.Random, edits: int = 20) -> bytes:
    """Random byte edits: flips, deletions, insertions of MIME-significant bytes, duplications."""
    data = bytearray(raw)
    tokens = [
        b"\r\n",
        b"\n",
        b"\r",
        b"--",
        b"(",
        b")",
        b"<",
        b">",
        b'"',
        b";",
        b"=?",
        b"?=",
        b":",
        b"\x00",
        b"\xff",
        b"boundary=",
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"charset=idna",
    ]
    for _ in range(rng.randint(1, edits)):
        if not data:
            break
        position = rng.randrange(len(data))
        action = rng.randrange(4)
        if action == 0:
            data[position] = rng.randrange(256)
        elif action == 1:
            del data[position : position + rng.randint(1, 200)]
        elif action == 2:
            data[position:position] = rng.choice(tokens)
        else:
            chunk = data[position : position + rng.randint(1, 400)]
            data[position:position] = chunk * rng.randint(1, 20)
    return bytes(data)


def mutations(count: int, seed: int = 12) -> Iterator[bytes]:
    rng = random.Random(seed)
    seeds = real_mails()
    for _ in range(count):
        yield mutate(rng.choice(seeds), rng)


# name → builder of one size; the sizes are the ranges
SCALED: dict[str, tuple[Callable[[int], bytes], tuple[int, ...]]] = {
    "nested-multipart": (nested_multipart, (10, 100, 1_000, 5_000, 10_000)),
    "nested-rfc822": (nested_rfc822, (10, 100, 1_000, 10_000)),
    "nested-rfc822-multipart": (nested_rfc822_in_multipart, (10, 100, 1_000)),
    "params": (many_params, (10, 100, 1_000, 4_000, 10_000)),
    "addresses-to": (many_addresses, (10, 1_000, 20_000, 100_000)),
    "addresses-cc": (lambda n: many_addresses(n, "Cc"), (10, 1_000, 20_000, 100_000)),
    "nested-comments": (nested_comments, (10, 1_000, 20_000)),
    "references": (many_references, (10, 1_000, 100_000)),
    "headers": (many_headers, (10, 1_000, 10_000, 100_000)),
    "long-header": (long_header, (1_000, 100_000, 1_000_000)),
    "attachments": (many_attachments, (10, 150, 1_000, 3_000)),
}


def sample(limit_bytes: int = 2_000_000) -> Iterator[tuple[str, bytes]]:
    """(name, mail) for each class at each size whose mail stays under ``limit_bytes``."""
    for name, (build, sizes) in SCALED.items():
        for size in sizes:
            raw = build(size)
            if len(raw) <= limit_bytes:
                yield f"{name}-{size}", raw
