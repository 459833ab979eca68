"""The pattern list as configuration: inline or in S3 behind a pointer; cached; a bad
or unreadable list keeps the last good one in force."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pytest
from aws_lambda_powertools import Logger

from producers import spam_config
from producers.spam_config import load_patterns

LOGGER = Logger(service="test", level="CRITICAL")


@dataclass
class Params:
    value: str
    fail: bool = False

    def get(self, name: str, *, ttl_seconds: int = 300, decrypt: bool = False) -> str:
        if self.fail:
            raise RuntimeError("SSM is down")
        return self.value


@dataclass
class Blobs:
    objects: dict[str, bytes] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    fail: bool = False

    def get(self, key: str, bucket: str | None = None) -> bytes:
        self.reads.append(key)
        if self.fail:
            raise RuntimeError("S3 is down")
        return self.objects[key]


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    spam_config._compiled.clear()
    spam_config._objects.clear()
    spam_config._last_good.clear()


def stored(rules: list[dict[str, object]], threshold: float | None = None, tamper: bool = False) -> tuple[Params, Blobs]:
    data = json.dumps({"patterns": rules}).encode()
    sha = hashlib.sha256(data).hexdigest()
    key = f"config/spam-patterns/{sha}.json"
    pointer: dict[str, object] = {"s3": {"bucket": "b", "key": key, "version_id": None, "sha256": sha}}
    if threshold is not None:
        pointer["threshold"] = threshold
    return Params(json.dumps(pointer)), Blobs({key: data + (b" " if tamper else b"")})


RULES: list[dict[str, object]] = [{"id": f"r{n}", "pattern": f"word{n}", "score": 0.5} for n in range(300)]


def load(params: Params, blobs: Blobs | None) -> spam_config.CompiledPatterns:
    return load_patterns(params, "/p", ttl_seconds=300, match_limit=10_000, logger=LOGGER, blobs=blobs)


def test_a_list_in_s3_loads_once_with_the_pointers_threshold() -> None:
    params, blobs = stored(RULES, threshold=7.5)
    first = load(params, blobs)
    assert len(first.patterns) == 300 and first.threshold == 7.5
    assert load(params, blobs) is first and len(blobs.reads) == 1  # compiled and fetched once per version


@pytest.mark.parametrize("problem", ["tampered", "s3 down", "not json", "ssm down", "outside prefix"])
def test_a_broken_or_unreadable_list_keeps_the_last_good_one(problem: str) -> None:
    params, blobs = stored(RULES)
    good = load(params, blobs)
    spam_config._compiled.clear()
    spam_config._objects.clear()
    if problem == "tampered":
        params, blobs = stored(RULES[:5], tamper=True)
    elif problem == "s3 down":
        blobs.fail = True
    elif problem == "not json":
        params = Params("{not json")
    elif problem == "ssm down":
        params.fail = True
    else:
        params = Params(json.dumps({"s3": {"bucket": "b", "key": "inbox/evil.json", "sha256": ""}}))
    assert load(params, blobs) is good


def test_before_any_good_list_the_shipped_defaults_apply() -> None:
    compiled = load(Params("[1, 2"), None)
    assert {p.id for p in compiled.patterns} >= {"pharma", "casino"}
    pointer_without_bucket_access = stored(RULES)[0]
    assert {p.id for p in load(pointer_without_bucket_access, None).patterns} >= {"pharma"}


def test_an_inline_list_needs_no_bucket() -> None:
    compiled = load(Params(json.dumps({"threshold": 3, "patterns": RULES[:2]})), None)
    assert [p.id for p in compiled.patterns] == ["r0", "r1"] and compiled.threshold == 3
