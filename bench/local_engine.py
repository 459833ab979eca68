"""The embedded engine's goals (issue 13): ingest at a flat per-mail cost, read commands
independent of the state's size, bounded memory.

``ingest``: the labelled SpamAssassin corpus (``bench.spam_corpus``, every group) is
delivered mail by mail through the local stack in a child process (the same
``crm.flows.ingest_one`` that ``crm ingest`` runs per mail: store the raw mail,
the inbound decision, then every consumer until the queues are empty), timing each
mail (the per-mail cost against the state's size); the child's peak resident memory is its
``ru_maxrss``. Then the command itself, ``crm ingest FOLDER`` on the same corpus and a
fresh state, with ``--consumer-processes 0`` (one process) and ``2`` (the default): its
wall time, start-up included, is the end-to-end rate the goal is judged on, and the
peak of its process tree's summed resident memory (sampled from /proc) the memory. ``reads``: ``crm
conversations --limit 5`` and ``crm events --stream ID`` as subprocesses on a
100-mail state and on the full state, beside a bare ``python -c 'import crm.cli'``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DRAIN_EVERY = 25  # as crm.flows.DRAIN_EVERY; the worker imports that one

GOALS = {
    "mails_per_second": 100.0,  # at least, end to end
    "last_vs_first": 1.2,  # the last 1,000 mails cost at most this times the first 1,000
    "peak_rss_mb": 300.0,  # at most
    "read_vs_small_state": 1.2,  # a read on the full state vs on a 100-mail state, at most
    "read_vs_import": 2.0,  # a read vs a bare `import crm.cli`, at most
}

_WORKER = r"""
import json, resource, sys, time
from pathlib import Path
from crm.flows import DRAIN_EVERY, drain_all, ingest_one
from crm.ingest import Delivery
from crm.local import local_stack
from crm.settings import load_settings

state, corpus_list, small_state, small_count = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
paths = [Path(p) for p in corpus_list.read_text().splitlines() if p]
settings = load_settings()
with local_stack(settings, small_state, fresh=True) as small:
    for path in paths[:small_count]:
        ingest_one(small.svc, Delivery(str(path), path.read_bytes()), [settings.public_address])
times, outcomes = [], {}
started = time.perf_counter()
with local_stack(settings, state, fresh=True) as stack:
    for path in paths:
        raw = path.read_bytes()
        t0 = time.perf_counter()
        result = ingest_one(stack.svc, Delivery(str(path), raw), [settings.public_address], drain=False)
        if len(times) % DRAIN_EVERY == DRAIN_EVERY - 1:
            drain_all(stack.svc)  # as `crm ingest` does: the consumers take their queues in batches
        times.append(time.perf_counter() - t0)
        outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
    drain_all(stack.svc)
    conversation = next((i["id"] for i in stack.svc.projections.table(settings.conversations_table).scan()), None)
total = time.perf_counter() - started
print(json.dumps({"times": times, "total": total, "outcomes": outcomes, "conversation": conversation,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and every descendant, from /proc (0 where it is gone)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in tree)


def ingest_command(folder: Path, state: Path, processes: int) -> dict[str, Any]:
    """``crm ingest --consumer-processes N FOLDER`` on a fresh state, as a user runs it:
    its wall time and the peak of its process tree's resident memory (sampled)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "crm.cli", "--state", str(state), "ingest", "--consumer-processes", str(processes), str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "POWERTOOLS_LOG_LEVEL": "ERROR"},
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss_kb(child.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if child.returncode:
        raise RuntimeError(f"crm ingest --consumer-processes {processes} exited with {child.returncode}")
    return {"consumer_processes": processes, "seconds": seconds, "peak_tree_rss_mb": peak / 1024}


def _crm(state: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "crm.cli", "--state", str(state), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return time.perf_counter() - started


def _median_time(run: Any, repeat: int) -> float:
    return float(statistics.median(run() for _ in range(repeat)))


def run(limit: int | None = None, repeat: int = 5) -> dict[str, Any]:
    import random

    from bench.spam_corpus import load

    mails = load(limit_per_group=limit)
    # one fixed shuffle: the first and the last thousand mails are the same mix of groups,
    # so comparing their cost measures the state's growth, not the corpus's order
    random.Random(13).shuffle(mails)
    with tempfile.TemporaryDirectory(prefix="crm-engine-") as folder:
        root = Path(folder)
        listing = root / "corpus.txt"
        paths = []
        for index, mail in enumerate(mails):
            path = root / "corpus" / f"{index:05d}.eml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(mail.raw)
            paths.append(str(path))
        listing.write_text("\n".join(paths), encoding="utf-8")
        state, small = root / "state", root / "small"
        small_count = min(100, len(paths))
        done = subprocess.run(
            [sys.executable, "-c", _WORKER, str(state), str(listing), str(small), str(small_count)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "POWERTOOLS_LOG_LEVEL": "ERROR"},
        )
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        times: list[float] = measured["times"]
        block = min(1000, max(DRAIN_EVERY, len(times) // 4 // DRAIN_EVERY * DRAIN_EVERY))
        first, last = sum(times[:block]), sum(times[-block:])
        conversation = measured["conversation"] or "none"
        bare = _median_time(lambda: _time_import(), repeat)
        reads = {}
        for name, args in (
            ("conversations --limit 5", ("conversations", "--limit", "5")),
            ("events --stream ID", ("events", "--stream", conversation)),
        ):
            on_small = _median_time(lambda a=args: _crm(small, *a), repeat)
            on_full = _median_time(lambda a=args: _crm(state, *a), repeat)
            reads[name] = {
                "small_seconds": on_small,
                "full_seconds": on_full,
                "vs_small": on_full / on_small if on_small else None,
                "vs_import": on_full / bare if bare else None,
            }
        state_bytes = sum(p.stat().st_size for p in state.rglob("*") if p.is_file())
        commands = [ingest_command(root / "corpus", root / f"cmd-{n}", n) for n in (0, 2)]
    for command in commands:
        command["mails_per_second"] = len(times) / command["seconds"]
    default = commands[-1]  # the command's default: two consumer processes beside the decisions
    rate = default["mails_per_second"]
    peak_mb = default["peak_tree_rss_mb"]
    result = {
        "mails": len(times),
        "outcomes": measured["outcomes"],
        "seconds": measured["total"],
        "loop_mails_per_second": len(times) / measured["total"] if measured["total"] else 0.0,
        "loop_peak_rss_mb": measured["maxrss_kb"] / 1024,
        "commands": commands,
        "mails_per_second": rate,
        "block": block,
        "first_block_seconds": first,
        "last_block_seconds": last,
        "last_vs_first": last / first if first else None,
        "peak_rss_mb": peak_mb,
        "median_ms": statistics.median(times) * 1000 if times else None,
        "p99_ms": sorted(times)[int(len(times) * 0.99) - 1] * 1000 if len(times) >= 100 else None,
        "state_mb": state_bytes / 2**20,
        "import_seconds": bare,
        "reads": reads,
    }
    worst_small = max((r["vs_small"] or 0) for r in reads.values())
    worst_import = max((r["vs_import"] or 0) for r in reads.values())
    result["goals"] = {
        "mails_per_second": {
            "goal": f">= {GOALS['mails_per_second']:g}",
            "value": rate,
            "met": rate >= GOALS["mails_per_second"],
        },
        "last_vs_first": {
            "goal": f"<= {GOALS['last_vs_first']:g}",
            "value": result["last_vs_first"],
            "met": (result["last_vs_first"] or 99) <= GOALS["last_vs_first"],
        },
        "peak_rss_mb": {"goal": f"<= {GOALS['peak_rss_mb']:g}", "value": peak_mb, "met": peak_mb <= GOALS["peak_rss_mb"]},
        "read_vs_small_state": {
            "goal": f"<= {GOALS['read_vs_small_state']:g}",
            "value": worst_small,
            "met": worst_small <= GOALS["read_vs_small_state"],
        },
        "read_vs_import": {
            "goal": f"<= {GOALS['read_vs_import']:g}",
            "value": worst_import,
            "met": worst_import <= GOALS["read_vs_import"],
        },
    }
    return result


def _time_import() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import crm.cli"], check=True)
    return time.perf_counter() - started


def render(result: dict[str, Any]) -> str:
    lines = [
        f"8. The embedded engine: `crm ingest` of {result['mails']} corpus mails, then read commands",
        f"  per mail, in one process: {result['loop_mails_per_second']:.1f} mails/s ({result['seconds']:.1f} s; "
        f"median {result['median_ms']:.1f} ms, p99 {result['p99_ms'] or 0:.1f} ms per mail; "
        f"peak {result['loop_peak_rss_mb']:.0f} MB); outcomes {result['outcomes']}",
        *(
            f"  `crm ingest --consumer-processes {c['consumer_processes']}`: {c['mails_per_second']:.1f} mails/s "
            f"({c['seconds']:.1f} s, start-up included), peak memory of its processes together "
            f"{c['peak_tree_rss_mb']:.0f} MB"
            for c in result["commands"]
        ),
        f"  per-mail cost: last {result['block']} mails {result['last_block_seconds']:.2f} s vs first "
        f"{result['first_block_seconds']:.2f} s = {result['last_vs_first'] or 0:.2f}x",
        f"  state folder {result['state_mb']:.0f} MB",
        f"  bare `import crm.cli`: {result['import_seconds'] * 1000:.0f} ms",
    ]
    for name, read in result["reads"].items():
        lines.append(
            f"  crm {name}: {read['full_seconds'] * 1000:.0f} ms on the full state, "
            f"{read['small_seconds'] * 1000:.0f} ms on 100 mails ({read['vs_small'] or 0:.2f}x), "
            f"{read['vs_import'] or 0:.2f}x the bare import"
        )
    for name, goal in result["goals"].items():
        value = goal["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"  goal {name} {goal['goal']}: {shown} — {'met' if goal['met'] else 'NOT met'}")
    return "\n".join(lines)
