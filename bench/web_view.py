"""The web view's pipeline page against `crm conversations --limit 50`, on the same state.

The state: the demo's mails plus generated ham (``bench.corpus.generate``), through
the whole flow on the local stack, saved to a state folder. Then, on that folder:

* the command: ``python -m crm.cli --state S conversations --limit 50`` in a fresh
  process, timed end to end (what a person waits for: the stack starts from the
  folder, the query runs, the table prints);
* the page: ``GET /?limit=50`` from the server ``crm web`` runs (waitress, one local
  stack held open), timed end to end over HTTP: the same GSI query, the per-status
  counts and the rendering. The first request (template compilation) is not counted;
* for reference, the query alone in process (``crm.views.conversations_page``): what
  the command does once its stack runs, and the floor under the page.

The goal (issue 17): the page answers in ≤ 1.5× the command's time.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.corpus import ROOT, generate
from bench.timing import median, ratio, summary

GOAL = 1.5
LIMIT = 50


def _build_state(state: Path, mails: int) -> dict[str, Any]:
    from crm.demo import run_demo
    from crm.flows import ingest_one
    from crm.ingest import Delivery
    from crm.local import local_stack
    from crm.settings import load_settings

    outcomes: dict[str, int] = {}
    with local_stack(load_settings(), state, fresh=True) as stack, contextlib.redirect_stdout(io.StringIO()):
        run_demo(stack, as_json=True)
        for sample in generate(mails, recipient=stack.settings.public_address):
            result = ingest_one(stack.svc, Delivery(sample.name, sample.raw), [stack.settings.public_address])
            outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
    return outcomes


def _command_seconds(state: Path, repeat: int) -> tuple[list[float], int]:
    times, lines = [], 0
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "crm.cli", "--state", str(state), "conversations", "--limit", str(LIMIT)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(time.perf_counter() - started)
        lines = len(done.stdout.splitlines())
    return times, lines


def _page_seconds(state: Path, repeat: int) -> dict[str, Any]:
    from crm.local import local_stack
    from crm.settings import load_settings
    from crm.views import conversations_page
    from crm.web.server import serving
    from projections.queries import Filters

    with local_stack(load_settings(), state) as stack:
        query_times = []
        for _ in range(repeat):
            started = time.perf_counter()
            page = conversations_page(stack.svc, Filters(), limit=LIMIT)
            query_times.append(time.perf_counter() - started)
        with serving(stack.svc) as base:
            url = f"{base}/?limit={LIMIT}"
            with urllib.request.urlopen(url, timeout=60) as response:  # warm-up: templates compile
                response.read()
            page_times, size = [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                with urllib.request.urlopen(url, timeout=60) as response:
                    body = response.read()
                page_times.append(time.perf_counter() - started)
                size = len(body)
    rows = body.count(b'<tr class="conversation"')
    return {"query": query_times, "page": page_times, "page_bytes": size, "page_rows": rows, "query_rows": len(page["items"])}


def run(mails: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="crm-bench-web-") as folder:
        state = Path(folder) / "state"
        outcomes = _build_state(state, mails)
        command, lines = _command_seconds(state, max(2, min(repeat, 5)))  # seconds each: a few are enough
        measured = _page_seconds(state, repeat)
    page, query = median(measured["page"]), median(measured["query"])
    return {
        "generated_mails": mails,
        "outcomes": outcomes,
        "command": summary(command),
        "command_lines": lines,
        "page": summary(measured["page"]),
        "query": summary(measured["query"]),
        "page_rows": measured["page_rows"],
        "query_rows": measured["query_rows"],
        "page_bytes": measured["page_bytes"],
        "ratio_page_to_command": ratio(page, median(command)),
        "goal": GOAL,
        "meets_goal": ratio(page, median(command)) <= GOAL,
        "ratio_page_to_query": ratio(page, query),
    }


def render(r: dict[str, Any]) -> str:
    from bench.report import table

    rows = [
        [
            f"crm conversations --limit {LIMIT} (fresh process)",
            r["command"]["median"] * 1000,
            r["command"]["max"] * 1000,
            r["command"]["n"],
            r["command_lines"],
        ],
        [
            f"GET /?limit={LIMIT} (crm web, over HTTP)",
            r["page"]["median"] * 1000,
            r["page"]["max"] * 1000,
            r["page"]["n"],
            r["page_rows"],
        ],
        [
            "the query alone, in process (reference)",
            r["query"]["median"] * 1000,
            r["query"]["max"] * 1000,
            r["query"]["n"],
            r["query_rows"],
        ],
    ]
    verdict = "meets" if r["meets_goal"] else "MISSES"
    return "\n".join(
        [
            f"9. Web view: the pipeline page vs the command, same state (demo + {r['generated_mails']} generated mails, "
            f"outcomes {r['outcomes']})",
            table(["", "median ms", "max ms", "runs", "rows"], rows),
            f"  page / command = {r['ratio_page_to_command']:.3f}× (goal ≤ {r['goal']}×: {verdict}); "
            f"page / in-process query = {r['ratio_page_to_query']:.1f}× (the counts per status and the HTML)",
        ]
    )
