"""The ``crm`` command line.

Every command runs against the embedded local stack (state in ``--state DIR``,
``CRM_STATE``, default ``./.crm``) unless ``--stack aws`` points it at a deployed one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm.errors import UsageError
from crm.settings import ConfigError, load_settings
from ports import Services, TableMissing

if TYPE_CHECKING:
    from crm.local import Stack


def _emit(records: list[dict[str, Any]], as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    if as_json:
        for record in records:
            print(json.dumps(record, sort_keys=True, default=str))
    else:
        for record in records:
            print(render(record))


@contextmanager
def open_stack(args: argparse.Namespace, *, fresh: bool = False) -> Iterator[Stack]:
    """The stack a command works on, open: local (the embedded engine, the default),
    moto (the aws adapters on an in-process moto) or aws (a deployed stack)."""
    settings = load_settings()
    if args.stack == "aws":
        from crm.deployed import deployed_stack

        with deployed_stack(settings, args.stack_file) as deployed:
            yield deployed
        return
    if args.stack == "moto":
        from crm.moto_stack import moto_stack

        with moto_stack(settings, Path(args.state), fresh=fresh) as mocked:
            yield mocked
        return
    from crm.local import local_stack

    with local_stack(settings, Path(args.state), fresh=fresh) as local:
        yield local


@contextmanager
def stack(args: argparse.Namespace, *, fresh: bool = False) -> Iterator[Services]:
    """The services of the stack a command works on, with that stack open."""
    with open_stack(args, fresh=fresh) as opened:
        yield opened.svc


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {text!r}")
    return value


def _require_local(args: argparse.Namespace, what: str) -> None:
    if args.stack == "aws":
        raise UsageError(f"{what} runs on the local stack only (mail enters AWS through SES)")


# --- commands -----------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    _require_local(args, "crm ingest")
    from crm.flows import ingest_paths
    from crm.verdicts import parse_flags

    flags = parse_flags(args.verdict, args.dmarc_policy)  # a bad value stops here, before any mail moves
    with open_stack(args) as opened:
        svc = opened.svc
        rcpts = [r.strip().lower() for r in args.rcpt] or [svc.settings.public_address]
        alongside = None
        if args.stack == "local" and args.consumer_processes > 0:
            from crm.consumer_process import consumers_alongside

            # the children open the folder with the settings this command opened it with
            alongside = partial(consumers_alongside, svc.settings, Path(args.state), args.consumer_processes)
        results = ingest_paths(svc, [Path(p) for p in args.paths], rcpts, flags, alongside=alongside)
    _emit(
        results,
        args.json,
        lambda r: f"{r['outcome']:<9} {r['source']}  {r.get('conversation_id') or ''}  {r.get('reason') or ''}".rstrip(),
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _require_local(args, "crm demo")
    from crm.demo import run_demo

    with open_stack(args, fresh=args.fresh) as opened:
        run_demo(opened, as_json=args.json)
    return 0


def cmd_conversations(args: argparse.Namespace) -> int:
    from crm import views

    words = list(args.words)
    with stack(args) as svc:
        if words[:1] == ["show"]:
            if len(words) != 2:
                raise UsageError("usage: crm conversations show ID")
            return views.show_conversation(svc, words[1], as_json=args.json)
        if words[:1] == ["set-status"]:
            if len(words) != 3:
                raise UsageError("usage: crm conversations set-status ID STATUS [--note TEXT]")
            return views.set_status(svc, words[1], words[2], args.note)
        if words[:1] == ["raw"]:
            if len(words) != 3:
                raise UsageError("usage: crm conversations raw ID MESSAGE_ID")
            sys.stdout.buffer.write(views.raw_mail(svc, words[2], words[1]))
            return 0
        if words:
            raise UsageError(f"unknown conversations action {words[0]!r} (show, set-status, raw)")
        page = views.list_conversations(svc, args)
    _emit(page["items"], args.json, views.conversation_line)
    if page.get("next_token"):
        print(f"next token: {page['next_token']}", file=sys.stderr)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    if args.words[:1] == ["schema"]:
        from events.schema import catalogue_schema

        print(json.dumps(catalogue_schema(), indent=2))
        return 0
    if args.words:
        raise UsageError(f"unknown events action {args.words[0]!r} (schema)")
    from crm import views

    with stack(args) as svc:
        records = views.event_records(svc, args.stream)
    _emit(records, args.json, views.event_line)
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    _require_local(args, "crm outbox")
    from crm.views import outbox_records

    with stack(args) as svc:
        records = outbox_records(svc)
    _emit(records, args.json, lambda r: f"{r['kind']:<8} to {', '.join(r['to'])}: {r['subject']}  ({r['file']})")
    return 0


def cmd_spam(args: argparse.Namespace) -> int:
    from crm import spam_admin

    with stack(args) as svc:
        return spam_admin.run(svc, args)


def cmd_dlq(args: argparse.Namespace) -> int:
    from crm import views

    with stack(args) as svc:
        if args.action == "list":
            records = views.dlq_records(svc)
            _emit(
                records,
                args.json,
                lambda r: f"{r['queue']}: {r['count']} message(s)" + "".join(f"\n  {m}" for m in r["summaries"]),
            )
            return 0
        if not args.queue:
            raise UsageError("usage: crm dlq redrive QUEUE")
        moved = views.redrive(svc, args.queue)
        print(f"redrove {moved} message(s) from {args.queue}-dlq to {args.queue}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from projections.replay import replay

    with stack(args) as svc:
        if args.archive:
            from crm.deployed import archive_replay

            print(json.dumps(archive_replay(svc.settings, args.start, args.end), indent=2))
            return 0
        try:
            report = replay(svc, projection=args.projection, into=args.into, stream=args.stream, workers=args.workers)
        except (TableMissing, ValueError) as exc:
            raise UsageError(str(exc).strip("'\"")) from None
    summary = report.as_dict()
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(
            f"replayed {summary['events']} events of {summary['streams']} streams into {summary['table']} "
            f"in {summary['seconds']:.2f} s ({summary['events_per_second']} events/s, "
            f"{summary['write_calls']} write calls)"
        )
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from crm import rules_admin

    return rules_admin.run(args, stack)


def cmd_followups(args: argparse.Namespace) -> int:
    from crm import views

    with stack(args) as svc:
        if args.action == "run":
            fired = views.run_followups(svc, args.now)
            _emit(fired, args.json, lambda r: f"due {r['due_at']}  {r['kind']:<8} {r['conversation_id']}")
            return 0
        items = views.followups_due(svc, args.now)
    _emit(
        items, args.json, lambda r: f"{r.get('followup_due')}  {r.get('followup_kind', ''):<8} {r['id']}  {r.get('subject', '')}"
    )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from crm.stats import mail_stats, stats_lines

    with stack(args) as svc:
        stats = mail_stats(svc)
    if args.json:
        print(json.dumps(stats, sort_keys=True))
    else:
        print("\n".join(stats_lines(stats)))
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from crm.web.server import check_port, serve_web

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port")
    check_port(args.port)
    # the stack stays open while the server runs: the same composition root as every command
    with stack(args) as svc:
        return serve_web(svc, port=args.port)


def cmd_infra(args: argparse.Namespace) -> int:
    from bootstrap import rules as hook_rules
    from crm.infra_export import write_export
    from crm.rules_admin import check_registered

    check_registered(hook_rules(load_settings().rules_module))
    target = Path(args.output)
    write_export(target)
    print(f"wrote {target}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from crm.audit import run_audit

    with stack(args) as svc:
        report = run_audit(svc)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        for check in report["checks"]:
            print(f"{'ok  ' if check['ok'] else 'FAIL'} {check['name']}: {check['detail']}")
    return 0 if report["ok"] else 1


def cmd_serve(args: argparse.Namespace) -> int:
    _require_local(args, "crm serve")
    from crm.serve import serve
    from crm.verdicts import parse_flags

    flags = parse_flags(args.verdict, args.dmarc_policy)
    return serve(
        load_settings(), Path(args.state), host=args.host, port=args.port, aws_port=args.aws_port, once=args.once, flags=flags
    )


# --- parser ---------------------------------------------------------------------------


def add_verdict_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--verdict",
        action="append",
        default=[],
        metavar="NAME=STATUS",
        help="SES verdict for the delivered mail (repeatable): NAME spam|virus|spf|dkim|dmarc, STATUS "
        "PASS|FAIL|GRAY|PROCESSING_FAILED; unset: the mail's amazonses.com Authentication-Results, "
        "else PASS",
    )
    p.add_argument(
        "--dmarc-policy",
        choices=["none", "quarantine", "reject"],
        type=str.lower,
        help="the sender domain's DMARC policy SES reports",
    )


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state", default=argparse.SUPPRESS, help="local state folder (env CRM_STATE, default ./.crm)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="one JSON object per record")
    common.add_argument(
        "--stack",
        choices=["local", "moto", "aws"],
        default=argparse.SUPPRESS,
        help="the embedded local stack (default), the aws adapters on an in-process moto, or a deployed stack",
    )
    common.add_argument(
        "--stack-file", default=argparse.SUPPRESS, help="`tofu output -json` of the deployed stack (env CRM_STACK_FILE)"
    )

    top = argparse.ArgumentParser(
        prog="crm", parents=[common], description="Event-sourced conversation CRM for a public contact address"
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("demo", cmd_demo, "run the sample mails of examples/mail through the whole flow")
    p.add_argument("--fresh", action="store_true", help="start from an empty state folder")
    p = add("ingest", cmd_ingest, "deliver .eml/mbox/Maildir mail as SES would")
    p.add_argument("--rcpt", action="append", default=[], metavar="ADDR", help="envelope recipient (repeatable)")
    p.add_argument(
        "--consumer-processes",
        type=_non_negative,
        default=2,
        metavar="N",
        help="local stack: processes running the consumers beside the decisions (default 2; 0: this one, between batches)",
    )
    add_verdict_flags(p)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p = add("conversations", cmd_conversations, "list, show or annotate conversations")
    p.add_argument(
        "words", nargs="*", metavar="ACTION", help="show ID | set-status ID STATUS | raw ID MESSAGE_ID (the mail as received)"
    )
    for flag in ("status", "company", "contact", "title", "source", "month", "next-token", "note"):
        p.add_argument(f"--{flag}")
    p.add_argument("--min-score", type=int)
    p.add_argument("--followup-due", metavar="TIME", help="follow-ups due at or before TIME (ISO 8601, or 'now')")
    p.add_argument("--limit", type=int, default=50)
    p = add("events", cmd_events, "the event log in order, or `events schema`")
    p.add_argument("words", nargs="*", metavar="schema")
    p.add_argument("--stream")
    add("outbox", cmd_outbox, "every mail the local stack sent")
    p = add("spam", cmd_spam, "quarantined mail and the pattern list")
    p.add_argument(
        "words",
        nargs="+",
        metavar="ACTION",
        help="list | release ID | raw ID | patterns list | patterns add ID PATTERN | patterns remove ID | "
        "patterns test TEXT | patterns import PATH... | threshold [VALUE|default]",
    )
    p.add_argument("--fields", default="subject,from,body", help="for patterns add")
    p.add_argument("--flags", default="i", help="for patterns add")
    p.add_argument("--score", help="for patterns add: what the pattern adds (none: a sure hit)")
    p.add_argument("--description", help="for patterns add: what the pattern means")
    p.add_argument("--file", metavar="MAIL.eml", help="for patterns test: score a whole mail")
    p.add_argument("--describe", action="store_true", help="for patterns list/test: show each rule's description")
    p.add_argument("--verbose", action="store_true", help="for patterns test/import: show every match or skip")
    p.add_argument("--threshold", help="for patterns import: the list's threshold")
    p.add_argument("--keep-defaults", action="store_true", help="for patterns import: add to the shipped defaults")
    p.add_argument("--dry-run", action="store_true", help="for patterns import: report, store nothing")
    p = add("dlq", cmd_dlq, "dead-letter queues: list or redrive")
    p.add_argument("action", choices=["list", "redrive"])
    p.add_argument("queue", nargs="?")
    p = add("replay", cmd_replay, "rebuild a projection from the event store")
    p.add_argument("--projection", default="conversations")
    p.add_argument("--into", metavar="TABLE", help="rebuild into the standby table (<table>-b) and switch readers to it")
    p.add_argument("--stream")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--archive", action="store_true", help="EventBridge archive replay (deployed stack)")
    p.add_argument("--from", dest="start")
    p.add_argument("--to", dest="end")
    p = add(
        "rules",
        cmd_rules,
        "hook rules: list | validate PATTERN.json | match PATTERN.json EVENT.json | test NAME EVENT.json | export",
    )
    p.add_argument("action", choices=["list", "validate", "match", "test", "export"])
    p.add_argument("name", nargs="?", metavar="NAME|PATTERN.json")
    p.add_argument("event_file", nargs="?", metavar="EVENT.json")
    p.add_argument("--output", default="infra/topology.json")
    p.add_argument("--matches", action="store_true", help="for list: the events each rule matched, last ones first")
    p = add("followups", cmd_followups, "follow-ups: run the schedule or list what is due")
    p.add_argument("action", choices=["run", "due"])
    p.add_argument("--now", help="the time to use (ISO 8601), default now")
    add("stats", cmd_stats, "mails per week by outcome, lead scores, conversations per status")
    p = add("web", cmd_web, "the web view on 127.0.0.1 (pipeline, conversations, quarantine, DLQs, rules)")
    p.add_argument("--port", type=int, default=8025)
    p = add("infra", cmd_infra, "write what OpenTofu reads")
    p.add_argument("action", choices=["export"])
    p.add_argument("--output", default="infra/topology.json")
    add("audit", cmd_audit, "check the system's invariants")
    p = add("serve", cmd_serve, "run the local stack with an SMTP listener")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument(
        "--aws-port",
        type=int,
        default=None,
        help="also serve an AWS endpoint on this port: the stack is then the aws adapters on moto",
    )
    p.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    add_verdict_flags(p)
    return top


def main(argv: list[str] | None = None) -> int:
    # the handlers' structured logs are for CloudWatch; a person at a terminal sees warnings only
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    args = parser().parse_args(argv)
    defaults = {
        "state": os.environ.get("CRM_STATE", ".crm"),
        "json": False,
        "stack": "local",
        "stack_file": os.environ.get("CRM_STACK_FILE", "stack.json"),
    }
    for name, value in defaults.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    try:
        result: int = args.func(args)
        return result
    except (ConfigError, UsageError) as exc:
        print(f"crm: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"crm: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `crm events | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
