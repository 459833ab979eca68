"""Cold start of every Lambda handler: its import, then the container's services built.

Each measurement is a fresh ``sys.executable -c`` process that times ``import
<module>`` with ``time.perf_counter`` around it (interpreter start-up excluded), then
``bootstrap.for_lambda()``, which every first invocation runs before it reads its
event (settings read, adapters wired; boto3 clients are made on first use, as a bare
boto3 handler makes its own). The ratio to the baseline is on the two together,
repeated, median taken; the process's wall time (start-up included) is reported
beside it. The repetitions go round-robin over the baseline and every handler, so a
busy machine slows all of them alike; one unmeasured warm-up round first, so
bytecode caches exist for boto3 and the handlers alike (``tools.packaging`` ships no
bytecode: on Lambda both compile at a cold start). The baseline is ``import boto3`` alone.
One extra ``-X importtime`` run per module names the heaviest packages it pulls in
(times from that run, which ``-X importtime`` itself slows a little).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.timing import median, ratio

BASELINE = "boto3"
HANDLERS = (
    "producers.inbound",
    "producers.reply",
    "consumers.senders.ack",
    "consumers.senders.forward",
    "consumers.senders.reply",
    "consumers.projector",
    "consumers.hooks",
    "consumers.attachments",
)
ROOT = Path(__file__).resolve().parent.parent
_MARK = "-- bench: import starts --"
_PROGRAM = (
    "import sys, time\nsys.stderr.write({mark!r} + '\\n')\nsys.stderr.flush()\nt = time.perf_counter()\n"
    "import {module}\nmid = time.perf_counter()\n{services}\nprint(mid - t, time.perf_counter() - mid)\n"
)
_SERVICES = "import bootstrap\nbootstrap.for_lambda()"


def _environment() -> dict[str, str]:
    """What a Lambda's environment holds: region, credentials, Powertools settings."""
    # bytecode is written in the warm-up round, for boto3 and us alike: a shell that sets
    # PYTHONDONTWRITEBYTECODE would otherwise time our compile against boto3's cached .pyc
    skip = ("CRM_", "PYTHONPROFILE", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_METRICS_NAMESPACE": "ConversationCRM",
            "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONHASHSEED": "0",
        }
    )
    return env


def _once(module: str, env: dict[str, str], extra: tuple[str, ...] = ()) -> tuple[float, float, float, str]:
    started = time.perf_counter()
    services = "" if module == BASELINE else _SERVICES
    done = subprocess.run(
        [sys.executable, *extra, "-c", _PROGRAM.format(module=module, mark=_MARK, services=services)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    imported, built = (float(x) for x in done.stdout.strip().splitlines()[-1].split())
    return imported, built, wall, done.stderr


OWN_PACKAGES = frozenset({"producers", "consumers", "adapters", "events", "mail", "projections", "crm"})


def _heaviest(importtime_log: str, top: int = 4) -> list[dict[str, Any]]:
    """Third-party and standard-library packages by the cumulative time of their
    outermost imports, from ``-X importtime`` output (post-order: children first).
    The project's own packages are left out: the rows are what they pull in."""
    entries = []
    _before, _mark, after = importtime_log.partition(_MARK)
    for line in after.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, total, module = line[len("import time:") :].split("|")
        depth = (len(module) - len(module.lstrip(" ")) - 1) // 2
        entries.append((depth, module.strip().split(".")[0], int(total)))
    totals: dict[str, int] = {}
    stack: list[tuple[int, str]] = []  # (depth, root package) of the ancestors, walking in pre-order
    for depth, root, cumulative in reversed(entries):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if root not in OWN_PACKAGES and all(ancestor in OWN_PACKAGES for _d, ancestor in stack):
            totals[root] = totals.get(root, 0) + cumulative
        stack.append((depth, root))
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [{"package": name, "ms": us / 1e3} for name, us in ranked]


def run(repetitions: int) -> dict[str, Any]:
    env = _environment()
    modules = (BASELINE, *HANDLERS)
    rows: dict[str, dict[str, Any]] = {}
    imports: dict[str, list[float]] = {m: [] for m in modules}
    builds: dict[str, list[float]] = {m: [] for m in modules}
    walls: dict[str, list[float]] = {m: [] for m in modules}
    failed: dict[str, str] = {}
    # round-robin: each repetition times every module once, so load from other work on
    # the machine falls on the baseline and the handlers alike (an A/B in the same run)
    for round_ in range(repetitions + 1):  # round 0: warm-up (bytecode caches, page cache)
        for module in modules:
            if module in failed:
                continue
            try:
                seconds, built, wall, _log = _once(module, env)
            except Exception as exc:
                failed[module] = f"{type(exc).__name__}: {exc}"
                continue
            if round_:
                imports[module].append(seconds)
                builds[module].append(built)
                walls[module].append(wall)
    for module in modules:
        if module in failed:
            rows[module] = {"error": failed[module]}
            continue
        try:
            _s, _b, _w, log = _once(module, env, ("-X", "importtime"))
            heaviest = _heaviest(log)
        except Exception as exc:
            heaviest = [{"package": f"(importtime failed: {exc})", "ms": 0.0}]
        totals = [a + b for a, b in zip(imports[module], builds[module], strict=True)]
        rows[module] = {
            "import_ms": median(imports[module]) * 1e3,
            "services_ms": median(builds[module]) * 1e3,
            "cold_ms": median(totals) * 1e3,
            "process_ms": median(walls[module]) * 1e3,
            "runs_ms": [round(s * 1e3, 2) for s in imports[module]],
            "heaviest": heaviest,
        }
    base = rows[BASELINE].get("cold_ms")
    base_wall = rows[BASELINE].get("process_ms")
    for module in HANDLERS:
        row = rows[module]
        if "cold_ms" in row and base:
            row["ratio_to_boto3"] = ratio(row["cold_ms"], base)
            row["import_ratio_to_boto3"] = ratio(row["import_ms"], base)
            row["process_ratio_to_boto3"] = ratio(row["process_ms"], base_wall or 0.0)
    return {"repetitions": repetitions, "python": sys.version.split()[0], "baseline": BASELINE, "modules": rows}
