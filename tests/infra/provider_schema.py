"""The aws provider's resource schema, as the npm package ``@cdktf/provider-aws`` ships it.

Each release of that package is generated from one release of the hashicorp/aws
provider (its package.json says which, ``cdktf.provider.version``); its jsii
assembly (``.jsii``) describes every resource's arguments and blocks, each linked
to its registry doc anchor (``.../docs/resources/dynamodb_table#billing_mode``),
which is the HCL name. ``schema(package_version)`` extracts, per resource and data
source type, its argument and block names (blocks recursively) and caches the
result under ``~/.cache/crm-provider-schema`` (or ``$PROVIDER_SCHEMA_CACHE``); the
package is fetched with ``npm pack`` when the cache lacks it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

# package version -> the hashicorp/aws version it was generated from (its package.json)
PACKAGES = {"19.28.0": "5.60.0", "19.65.1": "5.99.1"}
_LINK = re.compile(r"/docs/(resources|data-sources)/([a-z0-9_]+)(?:#([a-z0-9_]+))?")


class SchemaUnavailable(Exception):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("PROVIDER_SCHEMA_CACHE") or Path.home() / ".cache" / "crm-provider-schema")


def _link(docs: dict[str, Any]) -> re.Match[str] | None:
    return _LINK.search(" ".join(str(v) for v in docs.values()))


def _struct_of(prop_type: dict[str, Any]) -> str | None:
    """The fqn of the struct a block property holds (single, list or union with IResolvable)."""
    stack = [prop_type]
    while stack:
        current = stack.pop()
        if "fqn" in current and current["fqn"].startswith("@cdktf/provider-aws."):
            return str(current["fqn"])
        if "collection" in current:
            stack.append(current["collection"]["elementtype"])
        if "union" in current:
            stack.extend(current["union"]["types"])
    return None


def _shape(types: dict[str, Any], fqn: str, depth: int = 0) -> dict[str, Any]:
    """{"arguments": [...], "blocks": {name: shape}} of a config interface or block struct."""
    arguments: list[str] = []
    blocks: dict[str, Any] = {}
    seen: set[str] = set()
    current: str | None = fqn
    interfaces = [fqn]
    while interfaces:
        current = interfaces.pop()
        if current in seen or current not in types:
            continue
        seen.add(current)
        interfaces.extend(i for i in types[current].get("interfaces") or [] if i.startswith("@cdktf/provider-aws."))
        for prop in types[current].get("properties") or []:
            match = _link(prop.get("docs") or {})
            name = match.group(3) if match and match.group(3) else None
            if not name:
                continue
            struct = _struct_of(prop["type"])
            is_block = struct is not None and "block" in str(prop.get("docs", {}).get("summary", ""))
            if is_block and struct is not None and depth < 8:
                blocks[name] = _shape(types, struct, depth + 1)
            else:
                arguments.append(name)
    return {"arguments": sorted(set(arguments)), "blocks": blocks}


def extract(assembly: dict[str, Any]) -> dict[str, Any]:
    types = assembly["types"]
    found: dict[str, dict[str, Any]] = {"resource": {}, "data": {}}
    for fqn, t in types.items():
        if t.get("kind") != "class":
            continue
        match = _link(t.get("docs") or {})
        if not match or match.group(3):
            continue
        config = f"{fqn}Config"
        if config not in types:
            continue
        kind = "resource" if match.group(1) == "resources" else "data"
        found[kind][f"aws_{match.group(2)}"] = _shape(types, config)
    return found


def schema(package_version: str) -> dict[str, Any]:
    cached = cache_dir() / f"provider-aws-{package_version}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    npm = shutil.which("npm")
    if not npm:
        raise SchemaUnavailable("npm is not installed: cannot fetch @cdktf/provider-aws")
    with tempfile.TemporaryDirectory(prefix="provider-aws-") as folder:
        done = subprocess.run(
            [npm, "pack", f"@cdktf/provider-aws@{package_version}", "--silent"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        tarballs = list(Path(folder).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise SchemaUnavailable(f"npm pack @cdktf/provider-aws@{package_version} failed: {done.stderr[-500:]}")
        with tarfile.open(tarballs[0]) as archive:
            package = json.load(archive.extractfile("package/package.json"))  # type: ignore[arg-type]
            assembly = json.load(archive.extractfile("package/.jsii"))  # type: ignore[arg-type]
    provider = package.get("cdktf", {}).get("provider", {}).get("version")
    if provider != PACKAGES.get(package_version, provider):
        raise SchemaUnavailable(f"@cdktf/provider-aws@{package_version} is for aws {provider}, not {PACKAGES[package_version]}")
    extracted = {"provider_version": provider, **extract(assembly)}
    cached.parent.mkdir(parents=True, exist_ok=True)
    # two test workers may fetch at once: write aside, then rename (atomic)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(extracted, sort_keys=True), encoding="utf-8")
    partial.replace(cached)
    return extracted
