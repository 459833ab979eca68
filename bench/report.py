"""The readable tables printed to stdout."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from bench import prices

_NUMBER = re.compile(r"[-+]?[\d,.]+(e[-+]?\d+)?")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """Columns of numbers right-aligned, the first column and columns of text left-aligned."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [i > 0 and all(_NUMBER.fullmatch(r[i]) or r[i] in ("", "-") for r in cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return (
            indent
            + "  ".join(
                v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
            ).rstrip()
        )

    rule = indent + "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in cells)])


def decision(r: dict[str, Any]) -> str:
    c = r["components"]
    rows = [
        ["bare email parse (floor)", r["floor"]["median_us"], r["floor"]["p99_us"]],
        ["decision: parse+stages+identity+events", r["decision"]["median_us"], r["decision"]["p99_us"]],
        ["  of which parse (mail.parsing)", c["parse"]["median_us"], c["parse"]["p99_us"]],
        ["  of which decide (3 stages, identity)", c["decide"]["median_us"], c["decide"]["p99_us"]],
        ["  of which events (envelope, record, entry)", c["events"]["median_us"], c["events"]["p99_us"]],
        ["ratio decision / floor", r["ratio_median"], r["ratio_p99"]],
        ["per-mail ratio decision / floor", r["per_mail_ratio"]["median"], r["per_mail_ratio"]["p99"]],
    ]
    head = (
        f"1. Inbound decision cost per mail — {r['mails']} mails ({r['outcomes']}), median of {r['repetitions']} "
        f"runs each, median size {r['bytes_median'] / 1024:.1f} KB, largest {r['bytes_max'] / 1024:.0f} KB"
    )
    out = [head, table(["µs per mail", "median", "p99"], rows)]
    if r["errors"]:
        out.append(f"  errors: {len(r['errors'])}, first: {r['errors'][0]}")
    return "\n".join(out)


def patterns(r: dict[str, Any]) -> str:
    rows = []
    for name, x in r["lists"].items():
        rows.append(
            [
                name,
                x["patterns"],
                x["pcre2"]["median_us"],
                x["re"]["median_us"],
                x["pcre2"]["p99_us"],
                x["re"]["p99_us"],
                x["pcre2_over_re_median"],
                x["pcre2_over_re_total"],
                x["pcre2"]["mb_per_s"],
                x["re"]["mb_per_s"],
                x["mails_with_hit"],
                x["disagreement_count"],
            ]
        )
    head = (
        f"2. Pattern stage, PCRE2 (JIT) vs re — same patterns and texts of {r['mails']} mails, median of "
        f"{r['repetitions']} runs each"
    )
    return "\n".join(
        [
            head,
            table(
                [
                    "list",
                    "patterns",
                    "pcre2 µs",
                    "re µs",
                    "pcre2 p99",
                    "re p99",
                    "pcre2/re med",
                    "pcre2/re sum",
                    "pcre2 MB/s",
                    "re MB/s",
                    "hits",
                    "differ",
                ],
                rows,
            ),
        ]
    )


def coldstart(r: dict[str, Any]) -> str:
    rows = []
    for module, x in r["modules"].items():
        if "error" in x:
            rows.append([module, "error", "", "", "", "", "", x["error"][:60]])
            continue
        heavy = ", ".join(f"{h['package']} {h['ms']:.0f}" for h in x["heaviest"][:3])
        rows.append(
            [
                module,
                x["import_ms"],
                x.get("services_ms", 0.0),
                x["cold_ms"],
                x.get("ratio_to_boto3", 1.0),
                x["process_ms"],
                x.get("process_ratio_to_boto3", 1.0),
                heavy,
            ]
        )
    head = (
        f"3. Cold start in a fresh `python -c` (median of {r['repetitions']}): the handler's import, then"
        f" `bootstrap.for_lambda()` (services), against `import {r['baseline']}`"
    )
    return "\n".join(
        [
            head,
            table(
                [
                    "module",
                    "import ms",
                    "services ms",
                    "cold ms",
                    "× boto3",
                    "process ms",
                    "× boto3",
                    "heaviest packages pulled in (ms, -X importtime)",
                ],
                rows,
            ),
        ]
    )


def replay(r: dict[str, Any]) -> str:
    rep = r["report"]
    rows = [
        ["events replayed", rep["events"]],
        ["streams (conversations)", rep["streams"]],
        ["replay seconds", rep["seconds"]],
        ["replay events/s", r["events_per_second"]],
        ["write calls (BatchWriteItem)", rep["write_calls"]],
        ["write calls per event", r["write_calls_per_event"]],
        ["DynamoDB calls during replay", ", ".join(f"{k} {v}" for k, v in r["dynamodb_calls"].items())],
        [f"WRU per event (item + {r['gsis']} GSIs)", r["wru_per_event"]],
        ["RRU per event (scan)", r["rru_per_event"]],
        ["decode+fold only, no I/O: events/s", r["fold_only_events_per_second"]],
        ["loading the events: events/s", r["load_events_per_second"]],
        ["completed (all events, one item per stream)", "yes" if r["completed"] else "NO"],
    ]
    local = r.get("local") or {}
    head = []
    if local:
        goal = local["goal"]
        head = [
            f"4. Replay into the conversations projection — local backend (the embedded engine): "
            f"{local['events']:,} events of {local['streams']:,} streams in {local['seconds']:.2f} s = "
            f"{local['events_per_second']:,.0f} events/s (goal {goal['goal']}: {'met' if goal['met'] else 'NOT met'}); "
            f"{local['items_in_projection']:,} items",
            f"   aws adapters on in-process moto, {r['requested_events']:,} events (calls and units as on AWS):",
        ]
    return "\n".join([*head, table(["", "value"], rows)])


def calls(r: dict[str, Any]) -> str:
    a = r["accepted"]
    out = [
        f"5. AWS API calls per accepted mail — end-to-end local run: {r['mails']} mails ({r['examples']} examples "
        f"+ {r['generated_ham']} generated ham, {r['generated_ham_accepted']} of them accepted), outcomes "
        f"{r['outcomes']}"
    ]
    if not a.get("mails"):
        out.append("  no accepted mail")
        return "\n".join(out)
    rows = []
    for service, ops in sorted(a["project_calls"].items()):
        for operation, count in sorted(ops.items()):
            rows.append([service, operation, count, "handlers"])
    for service, ops in sorted(a["modelled_calls"].items()):
        for operation, count in sorted(ops.items()):
            rows.append([service, operation, count, "modelled (AWS side)"])
    rows.append(["total", "by the handlers", a["project_calls_total"], ""])
    out.append(table(["service", "operation", "calls/mail", "made by"], rows))
    fn_rows = [
        [
            f,
            x["invocations_per_mail"],
            x["calls_per_mail"],
            x["lambda_ms_per_mail"],
            ", ".join(f"{t} {u:.1f}" for t, u in (x.get("wru_per_mail") or {}).items()) or "-",
        ]
        for f, x in sorted(a["by_function"].items())
    ]
    out.append(
        table(["Lambda function", "invocations/mail", "calls/mail", "ms/mail (local)", "DynamoDB WRU/mail by table"], fn_rows)
    )
    cost_rows = []
    by_key = {p.key: p for p in prices.PRICES}
    units = a["units"]
    from bench.end_to_end import UNIT_PRICES

    for unit, key in UNIT_PRICES.items():
        dollars = a["usd_per_1000_mails"].get(key, 0.0)
        if units.get(unit) or dollars:
            cost_rows.append([key, units.get(unit, 0.0), f"{by_key[key].usd:g} {by_key[key].unit}", f"{dollars:.5f}"])
    cost_rows.append(["SES fees", "", "receiving + sending (the floor)", f"{a['usd_per_1000_mails_ses']:.5f}"])
    cost_rows.append(
        ["everything else", "", "ours: Lambda, DynamoDB, EventBridge, SQS, S3, SSM", f"{a['usd_per_1000_mails_ours']:.5f}"]
    )
    cost_rows.append(["total", "", "", f"{a['usd_per_1000_mails_total']:.5f}"])
    out.append(table(["price line", "units/mail", "list price (USD)", "USD per 1,000 accepted mails"], cost_rows))
    rej = r["rejected"]
    if rej.get("mails"):
        out.append(
            f"  rejected mails ({rej['mails']}): {rej['project_calls_total']:.1f} calls/mail, "
            f"USD {rej['usd_per_1000_mails_total']:.5f} per 1,000"
        )
    if a.get("failed_calls"):
        failed = "; ".join(
            f"{f}: " + ", ".join(f"{k} {v:.2g}" for k, v in by.items()) for f, by in sorted(a["failed_calls"].items())
        )
        out.append(f"  calls that failed (per accepted mail, included above): {failed}")
    if a.get("unpriced_calls"):
        out.append(f"  unpriced calls per mail: {a['unpriced_calls']}")
    if r["errors"]:
        out.append(f"  errors: {r['errors'][:3]}")
    if r["messages_left_in_dlqs"]:
        out.append(f"  messages left in DLQs: {r['messages_left_in_dlqs']}")
    out.append(
        f"  prices: us-east-1 list prices taken {prices.PRICES_TAKEN_ON} ({prices.PRICES_SOURCE}). {prices.PRICES_WARNING}"
    )
    return "\n".join(out)


def spam(r: dict[str, Any]) -> str:
    if r.get("skipped"):
        return f"6. Pattern stage on the labelled corpus: skipped — {r['skipped']}"
    corpus = ", ".join(f"{g} {n}" for g, n in r["corpus"].items())
    lines = [
        f"6. Pattern stage on the labelled corpus ({corpus}; trained on easy-ham-1 + spam-1, held out: the rest; no SES verdicts)"
    ]
    sa_import = r.get("sa_import", {})
    if sa_import.get("skipped"):
        lines.append(f"  SpamAssassin's rules: skipped — {sa_import['skipped']}")
    else:
        reasons = ", ".join(f"{k} {v}" for k, v in sa_import["skipped_by_reason"].items())
        lines.append(
            f"  SpamAssassin's rules ({', '.join(sa_import['paths'])}): {sa_import['rules_read']} read, "
            f"{sa_import['converted']} converted, {sa_import['skipped_rules']} skipped ({reasons})"
        )
    rows = []
    for name, data in r["lists"].items():
        for threshold, parts in data["thresholds"].items():
            for part in ("train", "held_out", "all"):
                p = parts[part]
                rows.append(
                    [
                        f"{name} ≥ {threshold}",
                        part.replace("_", "-"),
                        f"{p['ham_rejected']}/{p['ham']}",
                        p["ham_rejected_pct"],
                        f"{p['spam_caught']}/{p['spam']}",
                        p["spam_caught_pct"],
                    ]
                )
    lines.append(table(["list", "groups", "ham rejected", "ham %", "spam caught", "spam %"], rows))
    sa = r.get("spamassassin_itself", {})
    speed = [
        [
            name,
            data["rules"],
            data["stage_mails_per_cpu_s"],
            data["parse_and_stage_mails_per_cpu_s"],
            data["parse_and_stage_mails_per_cpu_s"] / sa["mails_per_cpu_s"] if sa.get("mails_per_cpu_s") else "-",
        ]
        for name, data in r["lists"].items()
    ]
    lines.append("")
    lines.append(table(["list", "rules", "stage mails/s", "parse+stage mails/s", "× spamassassin"], speed))
    lines.append(f"  (CPU seconds; parse alone {r['parse_mails_per_cpu_s']:.0f} mails/s)")
    if sa.get("skipped"):
        lines.append(f"  spamassassin itself: skipped — {sa['skipped']}")
    elif sa:
        lines.append(
            f"  spamassassin itself (local tests, no Bayes, {sa['mails']} held-out mails): "
            f"{sa['mails_per_cpu_s']:.1f} mails/s, spam caught {sa['spam_caught']}/{sa['spam']}, "
            f"ham flagged {sa['ham_flagged']}/{sa['ham']}"
        )
    lines.append("  goals (held-out figures):")
    shipped = next(iter(r["lists"]["defaults"]["thresholds"]), None)  # the first: DEFAULT_THRESHOLD
    defaults = r["lists"]["defaults"]["thresholds"][shipped]["held_out"] if shipped else None
    if defaults:
        met = defaults["ham_rejected_pct"] <= 0.3 and defaults["spam_caught_pct"] >= 20
        lines.append(
            f"    defaults ≥ {shipped}: ham ≤ 0.3 % and spam ≥ 20 %: {'met' if met else 'NOT met'} "
            f"({defaults['ham_rejected_pct']:.2f} %, {defaults['spam_caught_pct']:.1f} %)"
        )
    imported = r["lists"].get("spamassassin")
    if imported:
        best = max(
            imported["thresholds"].items(),
            key=lambda kv: kv[1]["all"]["spam_caught_pct"] if kv[1]["all"]["ham_rejected_pct"] <= 0.5 else -1,
        )
        p = best[1]["all"]
        met = p["ham_rejected_pct"] <= 0.5 and p["spam_caught_pct"] >= 75
        lines.append(
            f"    SpamAssassin imported ≥ {best[0]} (full corpus): spam ≥ 75 % at ham ≤ 0.5 %: "
            f"{'met' if met else 'NOT met'} ({p['spam_caught_pct']:.1f} %, {p['ham_rejected_pct']:.2f} %)"
        )
        if sa.get("mails_per_cpu_s"):
            ratio = imported["parse_and_stage_mails_per_cpu_s"] / sa["mails_per_cpu_s"]
            lines.append(f"    ≥ 10× spamassassin's mails/s: {'met' if ratio >= 10 else 'NOT met'} ({ratio:.1f}×)")
    return "\n".join(lines)
