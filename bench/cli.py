"""``python -m bench``: run the benchmarks, print the tables, write ``bench/results.json``."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import prices, report

SECTIONS = ("decision", "patterns", "coldstart", "replay", "calls", "spam", "hostile", "engine", "web")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N everywhere: checks the benchmarks work (< 60 s)")
    parser.add_argument("--events", type=int, help="events to generate and replay (default 100000; quick 2000)")
    parser.add_argument("--ham", type=int, help="generated ham mails in the end-to-end run (default 100; quick 5)")
    parser.add_argument(
        "--generated", type=int, help="generated mails added to the file corpus for sections 1-2 (default 300; quick 30)"
    )
    parser.add_argument("--repeat", type=int, help="timing repetitions per mail in sections 1-2 (default 15; quick 3)")
    parser.add_argument("--cold-repeat", type=int, help="fresh processes per module in section 3 (default 7; quick 3)")
    parser.add_argument("--spam-limit", type=int, help="mails per corpus group in section 6 (default all; quick 40)")
    parser.add_argument("--sa-sample", type=int, help="held-out mails SpamAssassin itself checks (default 200; quick 10)")
    parser.add_argument(
        "--web-mails", type=int, help="generated mails added to the demo state of the web section (default 60; quick 10)"
    )
    parser.add_argument("--engine-limit", type=int, help="mails per corpus group ingested in section 8 (default all; quick 25)")
    parser.add_argument("--only", help=f"comma-separated sections to run, of: {', '.join(SECTIONS)}")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    args = parser.parse_args(argv)
    quick = args.quick
    args.events = args.events if args.events is not None else (2_000 if quick else 100_000)
    args.ham = args.ham if args.ham is not None else (5 if quick else 100)
    args.generated = args.generated if args.generated is not None else (30 if quick else 300)
    args.repeat = args.repeat if args.repeat is not None else (3 if quick else 15)
    args.cold_repeat = args.cold_repeat if args.cold_repeat is not None else (3 if quick else 7)
    args.spam_limit = args.spam_limit if args.spam_limit is not None else (40 if quick else None)
    args.engine_limit = args.engine_limit if args.engine_limit is not None else (25 if quick else None)
    args.sa_sample = args.sa_sample if args.sa_sample is not None else (10 if quick else 200)
    args.web_mails = args.web_mails if args.web_mails is not None else (10 if quick else 60)
    selected = [s.strip() for s in (args.only or ",".join(SECTIONS)).split(",") if s.strip()]
    unknown = [s for s in selected if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    for name in ("events", "ham", "generated", "repeat", "cold_repeat", "web_mails"):
        if getattr(args, name) < (1 if name in ("repeat", "cold_repeat", "events") else 0):
            parser.error(f"--{name.replace('_', '-')} is too small")
    args.sections = selected
    return args


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _versions() -> dict[str, str]:
    found = {}
    for name in ("boto3", "botocore", "moto", "pcre2", "msgspec", "aws-lambda-powertools"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from bench import (
        coldstart,
        corpus,
        decision,
        end_to_end,
        hostile,
        local_engine,
        regex_stage,
        replay_load,
        spam_stage,
        web_view,
    )

    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "options": {
                k: getattr(args, k)
                for k in (
                    "events",
                    "ham",
                    "generated",
                    "repeat",
                    "cold_repeat",
                    "spam_limit",
                    "sa_sample",
                    "engine_limit",
                    "web_mails",
                )
            },
            "sections": args.sections,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "packages": _versions(),
        },
        "prices": prices.table(),
    }
    samples: list[corpus.Sample] = []
    if {"decision", "patterns"} & set(args.sections):
        samples = corpus.file_samples() + corpus.generate(args.generated, recipient=corpus.PUBLIC_ADDRESS)
        results["corpus"] = {
            "files": sum(s.kind == "file" for s in samples),
            "generated": sum(s.kind == "generated" for s in samples),
            "bytes_total": sum(len(s.raw) for s in samples),
        }
    jobs: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
        "decision": (lambda: decision.run(samples, args.repeat), report.decision),
        "patterns": (lambda: regex_stage.run(samples, args.repeat), report.patterns),
        "coldstart": (lambda: coldstart.run(args.cold_repeat), report.coldstart),
        "replay": (lambda: replay_load.run(args.events), report.replay),
        "calls": (lambda: end_to_end.run(args.ham), report.calls),
        "spam": (lambda: spam_stage.run(args.spam_limit, args.sa_sample), report.spam),
        "hostile": (lambda: hostile.run(args.quick), hostile.render),
        "engine": (lambda: local_engine.run(args.engine_limit, 3 if args.quick else 5), local_engine.render),
        "web": (lambda: web_view.run(args.web_mails, args.repeat), web_view.render),
    }
    print(
        f"Conversation CRM benchmarks ({results['meta']['mode']}, python {results['meta']['python']}, {os.cpu_count()} CPUs)\n",
        flush=True,
    )
    failures = 0
    for name in args.sections:
        run, render = jobs[name]
        section_started = time.perf_counter()
        noise = io.StringIO()
        try:
            # handlers may print (Powertools flushes EMF metrics to stdout every 100 values,
            # even when metrics are disabled): keep it out of the tables, keep it on record
            with contextlib.redirect_stdout(noise):
                outcome = run()
            if noise.getvalue():
                outcome["captured_stdout"] = {"chars": len(noise.getvalue()), "start": noise.getvalue()[:500]}
            outcome["seconds"] = time.perf_counter() - section_started
            results[name] = outcome
            text = render(outcome)
        except Exception as exc:
            failures += 1
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            text = f"{name}: FAILED — {type(exc).__name__}: {exc}"
        print(text + f"\n  ({time.perf_counter() - section_started:.1f} s)\n", flush=True)
    from bench import goals

    results["goals"] = goals.evaluate(results)
    print(goals.render(results["goals"]) + "\n", flush=True)
    results["meta"]["seconds"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(_clean(results), indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    print(f"Total {results['meta']['seconds']:.1f} s. All numbers: {args.output}")
    return 1 if failures else 0
