"""Every resource and data source argument and block in infra/ exists in the aws provider,
for the lowest and the highest version the ``versions.tf`` constraints allow.

The schema is the one ``@cdktf/provider-aws`` ships (``provider_schema``), fetched
with npm into a cache on first use; without npm or the registry the test skips and
says why. Regression for issue 15: ``event_bridge_destination`` (modules/mail)
first exists in 5.60.0 while the constraints allowed 5.40, and no upper bound let
6.x in.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import INFRA, REPO, tf_files
from .hcl_eval import Body, parse
from .provider_schema import PACKAGES, SchemaUnavailable, schema

META_ARGUMENTS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection", "timeouts"}
CONSTRAINT = re.compile(r'(?<![a-z_])version\s*=\s*"([^"]+)"')


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def allowed_range() -> tuple[str, str]:
    """(lowest allowed, the bound below which every version is allowed) of every versions.tf, all equal."""
    ranges = set()
    for path in INFRA.rglob("versions.tf"):
        found = CONSTRAINT.findall(path.read_text(encoding="utf-8"))
        assert found, f"{path.relative_to(REPO)} has no provider version constraint"
        ranges.update(found)
    assert len(ranges) == 1, f"the modules disagree on the aws provider version: {ranges}"
    (constraint,) = ranges
    low = re.search(r">=\s*([\d.]+)", constraint)
    high = re.search(r"<\s*([\d.]+)", constraint)
    assert low and high, f"{constraint!r}: needs a floor (>=) and an upper bound (<)"
    return low.group(1), high.group(1)


def test_the_checked_versions_are_the_bounds_of_the_constraint() -> None:
    low, high = allowed_range()
    providers = sorted(PACKAGES.values(), key=_version)
    assert _version(providers[0]) == _version(low + ".0" * (3 - low.count(".") - 1)), (
        f"no schema checked for the lowest allowed aws provider {low} (checked: {providers})"
    )
    assert _version(providers[-1]) < _version(high + ".0" * (3 - high.count(".") - 1))
    assert _version(providers[-1])[0] == _version(high)[0] - 1, "check the newest 5.x the constraint allows"


def _check(body: Body, shape: dict[str, Any], where: str, problems: list[str], top: bool) -> None:
    for name in body.attributes:
        if top and name in META_ARGUMENTS:
            continue
        if name in shape["blocks"]:
            problems.append(f"{where}: {name} is a block, not an argument")
        elif name not in shape["arguments"]:
            problems.append(f"{where}: unknown argument {name!r}")
    for block in body.blocks:
        if block.type == "dynamic":
            name, inner = block.labels[0], block.body.all("content")
            bodies = [b.body for b in inner]
        else:
            name, bodies = block.type, [block.body]
        if top and name in META_BLOCKS and name not in shape["blocks"]:
            continue
        if name not in shape["blocks"]:
            problems.append(f"{where}: unknown block {name!r}")
            continue
        for inner_body in bodies:
            _check(inner_body, shape["blocks"][name], f"{where}.{name}", problems, top=False)


@pytest.mark.parametrize("package", sorted(PACKAGES), ids=lambda p: f"aws-{PACKAGES[p]}")
def test_every_argument_and_block_exists_in_the_provider(package: str) -> None:
    try:
        provider = schema(package)
    except SchemaUnavailable as exc:
        pytest.skip(f"aws provider schema unavailable ({exc}); CI fetches it with npm")
    problems: list[str] = []
    checked = 0
    for path in tf_files():
        parsed = parse(path.read_text(encoding="utf-8"))
        for block in parsed.blocks:
            if block.type not in ("resource", "data") or len(block.labels) != 2:
                continue
            kind = "resource" if block.type == "resource" else "data"
            rtype = block.labels[0]
            where = f"{path.relative_to(INFRA)}: {block.type} {rtype}.{block.labels[1]}"
            if rtype not in provider[kind]:
                problems.append(f"{where}: no such {kind} in aws {provider['provider_version']}")
                continue
            checked += 1
            _check(block.body, provider[kind][rtype], where, problems, top=True)
    assert checked >= 60
    assert not problems, f"against aws {provider['provider_version']}:\n" + "\n".join(problems)
