"""``python -m bench.leak_guard``: the cost of the reply sender's leak check per MB.

Every reply is read whole by :class:`mail.leaks.Guard` (twice: in ``build_reply`` and on
the exact bytes sent), so its cost grows with the attachments. This times
``Guard.findings`` over replies with one attachment of random bytes, one of text and
one PDF-like, of growing size. Goal: well under the reply sender's timeout for a
reply at SES's 40 MB limit.
"""

from __future__ import annotations

import argparse
import os
import time
from email.message import EmailMessage
from typing import Any


def reply_of(megabytes: float) -> bytes:
    size = int(megabytes * 1024 * 1024 / 3)
    mail = EmailMessage()
    mail["From"] = "hello@example.com"
    mail["To"] = "jane@corp.example.org"
    mail.set_content("Thursday works.\n")
    mail.add_attachment(os.urandom(size), maintype="application", subtype="octet-stream", filename="data.bin")
    mail.add_attachment(("lorem ipsum dolor " * (size // 18)).encode(), maintype="text", subtype="plain", filename="notes.txt")
    mail.add_attachment(b"%PDF-1.4\n" + b"(text) Tj\n" * (size // 10), maintype="application", subtype="pdf", filename="doc.pdf")
    return mail.as_bytes()


def run(sizes: list[float]) -> list[dict[str, Any]]:
    from mail.leaks import Guard

    guard = Guard("owner@private.example.net", reply_domain="reply.example.com", allowed=["hello@example.com"])
    results = []
    for megabytes in sizes:
        raw = reply_of(megabytes)
        t0 = time.perf_counter()
        found = guard.findings(raw)
        seconds = time.perf_counter() - t0
        results.append(
            {
                "mb": round(len(raw) / 1024 / 1024, 2),
                "seconds": round(seconds, 3),
                "seconds_per_mb": round(seconds / max(len(raw) / 1024 / 1024, 1e-9), 3),
                "findings": len(found),
            }
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.leak_guard", description=__doc__)
    parser.add_argument("--sizes", default="0.5,2,8", help="comma-separated reply sizes in MB")
    args = parser.parse_args(argv)
    for row in run([float(s) for s in args.sizes.split(",") if s.strip()]):
        print(f"  {row['mb']:>7.2f} MB: {row['seconds']:.2f} s ({row['seconds_per_mb']:.2f} s/MB), {row['findings']} finding(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
