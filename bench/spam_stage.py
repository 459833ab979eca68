"""The pattern stage as a spam filter, on a labelled public corpus.

Lists: (a) the shipped defaults, (b) SpamAssassin's rules imported from the
installed package (``crm.sa_import``), each at two thresholds. For each: ham
rejected and spam caught on the training groups (``easy-ham-1``, ``spam-1``: the
defaults and thresholds were tuned there) and on the held-out groups (``easy-ham-2``,
``hard-ham-1``, ``spam-2``), where the goals are judged. No SES verdicts exist for
this corpus: only the pattern stage decides.

Throughput: mails/s of the stage alone (pre-parsed mail) and of parse + stage,
in CPU time (the machine may be shared), against SpamAssassin's own ``check`` with
local tests only (no network, no Bayes) on the same sample, driven through its
Perl API (``Mail::SpamAssassin``) so that its start-up is not counted.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.spam_corpus import GROUPS, HELD_OUT, TRAIN, CorpusUnavailable, LabelledMail, load

SA_DRIVER = r"""
use strict; use warnings;
use Mail::SpamAssassin;
my $sa = Mail::SpamAssassin->new({local_tests_only => 1, dont_copy_prefs => 1, use_bayes => 0,
  userprefs_filename => '/dev/null', home_dir_for_helpers => $ENV{TMPDIR} || '/tmp',
  post_config_text => "use_bayes 0\nuse_auto_whitelist 0\nuse_txrep 0\n"});
$sa->init(1);
my @t0 = times; my $n = 0;
while (my $path = <STDIN>) {
  chomp $path; open(my $fh, '<', $path) or next; local $/; my $raw = <$fh>; close $fh;
  my $msg = $sa->parse($raw); my $status = $sa->check($msg);
  printf "%s\t%.3f\n", $path, $status->get_score();
  $status->finish(); $msg->finish(); $n++;
}
my @t1 = times;
printf STDERR "cpu %.4f mails %d\n", ($t1[0] + $t1[1]) - ($t0[0] + $t0[1]), $n;
"""


def _rates(rows: list[tuple[LabelledMail, float, bool]], threshold: float, groups: tuple[str, ...]) -> dict[str, Any]:
    chosen = [r for r in rows if r[0].group in groups]
    ham = [r for r in chosen if not r[0].spam]
    spam = [r for r in chosen if r[0].spam]
    ham_rejected = sum(1 for _m, total, sure in ham if sure or total >= threshold)
    spam_caught = sum(1 for _m, total, sure in spam if sure or total >= threshold)
    return {
        "ham": len(ham),
        "ham_rejected": ham_rejected,
        "ham_rejected_pct": 100 * ham_rejected / len(ham) if ham else float("nan"),
        "spam": len(spam),
        "spam_caught": spam_caught,
        "spam_caught_pct": 100 * spam_caught / len(spam) if spam else float("nan"),
    }


def train_threshold(rows: list[tuple[LabelledMail, float, bool]], max_ham_pct: float) -> float:
    """The lowest threshold (in steps of 0.5) that keeps training ham under ``max_ham_pct``."""
    for step in range(2, 41):
        threshold = step / 2
        if _rates(rows, threshold, TRAIN)["ham_rejected_pct"] <= max_ham_pct:
            return threshold
    return 20.0


def _score_all(
    entries: Any, parsed: list[tuple[LabelledMail, Any]]
) -> tuple[list[tuple[LabelledMail, float, bool]], dict[str, Any]]:
    from producers.patterns import compile_patterns, score_texts
    from producers.spam_texts import MailTexts

    started = time.process_time()
    compiled = compile_patterns(entries)
    compile_s = time.process_time() - started
    rows = []
    started = time.process_time()
    for mail, message in parsed:
        verdict = score_texts(compiled, MailTexts(message), threshold=1e9)
        rows.append((mail, verdict.total, verdict.sure is not None))
    cpu = time.process_time() - started
    return rows, {
        "rules": len(compiled.patterns) + len(compiled.metas),
        "compile_errors": len(compiled.errors),
        "compile_cpu_s": compile_s,
        "stage_cpu_s": cpu,
        "stage_mails_per_cpu_s": len(parsed) / cpu if cpu else float("nan"),
    }


def _spamassassin(sample: list[LabelledMail]) -> dict[str, Any]:
    perl = shutil.which("perl")
    if perl is None or not shutil.which("spamassassin"):
        return {"skipped": "spamassassin is not installed (Debian: apt-get install spamassassin)"}
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, mail in enumerate(sample):
            path = Path(folder) / f"{index:05d}.eml"
            path.write_bytes(mail.raw)
            paths.append(path)
        driver = Path(folder) / "driver.pl"
        driver.write_text(SA_DRIVER, encoding="utf-8")
        started = time.perf_counter()
        done = subprocess.run(
            [perl, str(driver)],
            input="\n".join(map(str, paths)) + "\n",
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
            env={**os.environ, "TMPDIR": folder},
        )
        wall = time.perf_counter() - started
    if done.returncode != 0 or "cpu " not in done.stderr:
        return {"skipped": f"spamassassin failed: {done.stderr.strip()[-300:]}"}
    cpu = float(done.stderr.split("cpu ", 1)[1].split()[0])
    scores = [float(line.split("\t")[1]) for line in done.stdout.splitlines() if "\t" in line]
    flagged = [(mail, score) for mail, score in zip(sample, scores, strict=False)]
    ham = [s for m, s in flagged if not m.spam]
    spam = [s for m, s in flagged if m.spam]
    return {
        "mails": len(scores),
        "cpu_s": cpu,
        "wall_s_with_startup": wall,
        "mails_per_cpu_s": len(scores) / cpu if cpu else float("nan"),
        "ham": len(ham),
        "ham_flagged": sum(s >= 5 for s in ham),
        "spam": len(spam),
        "spam_caught": sum(s >= 5 for s in spam),
    }


def run(limit_per_group: int | None, sa_sample: int) -> dict[str, Any]:
    from crm.sa_files import default_paths
    from crm.sa_import import import_rules
    from mail.parsing import parse
    from producers.default_patterns import DEFAULT_PATTERNS, DEFAULT_THRESHOLD

    try:
        mails = load(GROUPS, limit_per_group)
    except CorpusUnavailable as exc:
        return {"skipped": str(exc)}
    started = time.process_time()
    parsed = [(mail, parse(mail.raw)) for mail in mails]
    parse_cpu = time.process_time() - started
    result: dict[str, Any] = {
        "corpus": {g: sum(m.group == g for m in mails) for g in GROUPS},
        "parse_mails_per_cpu_s": len(mails) / parse_cpu if parse_cpu else float("nan"),
        "lists": {},
    }
    lists: list[tuple[str, Any, list[float] | None]] = [
        ("defaults", DEFAULT_PATTERNS, [DEFAULT_THRESHOLD, DEFAULT_THRESHOLD - 1])
    ]
    paths = default_paths()
    if paths:
        imported = import_rules(paths)
        result["sa_import"] = {
            "paths": [str(p) for p in paths],
            "rules_read": imported.rules_read,
            "converted": len(imported.patterns),
            "skipped_rules": len(imported.skipped),
            "skipped_by_reason": dict(imported.reasons().most_common()),
        }
        lists.append(("spamassassin", imported.patterns, None))
    else:
        result["sa_import"] = {"skipped": "SpamAssassin's rules are not installed (apt-get install spamassassin)"}
    per_mail_parse = parse_cpu / len(mails) if mails else 0.0
    for name, entries, thresholds in lists:
        rows, timing = _score_all(entries, parsed)
        if thresholds is None:  # SpamAssassin's required_score, and the lowest that keeps training ham ≤ 0.5 %
            thresholds = [5.0, train_threshold(rows, 0.5)]
        per_mail_stage = timing["stage_cpu_s"] / len(parsed) if parsed else 0.0
        timing["parse_and_stage_mails_per_cpu_s"] = 1 / (per_mail_parse + per_mail_stage) if parsed else float("nan")
        result["lists"][name] = {
            **timing,
            "thresholds": {
                f"{t:g}": {"train": _rates(rows, t, TRAIN), "held_out": _rates(rows, t, HELD_OUT), "all": _rates(rows, t, GROUPS)}
                for t in dict.fromkeys(thresholds)
            },
        }
    rng = random.Random(18)
    held = [m for m in mails if m.held_out]
    sample = rng.sample([m for m in held if not m.spam], min(sa_sample // 2, sum(not m.spam for m in held))) + rng.sample(
        [m for m in held if m.spam], min(sa_sample // 2, sum(m.spam for m in held))
    )
    result["spamassassin_itself"] = _spamassassin(sample) if sample else {"skipped": "no sample"}
    return result
