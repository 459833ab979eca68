"""The mail bucket as a folder of files: a key is a path relative to the folder.

Writes are atomic (a temporary file, then ``os.replace``), so a reader or a killed
writer never leaves half an object. The content type and metadata, when given, go
to a JSON sidecar under ``.meta/`` (a reserved top folder, never listed as a key).
There is one bucket: a ``bucket`` argument is accepted and ignored (AWS reads SES's
inbound bucket with it; locally everything lands in this folder).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ports import BlobNotFound, SignedLink

META = ".meta"
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class InvalidBlobKey(ValueError):
    """A key that is not a relative path inside the blob folder."""


class FileBlobs:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if (
            not key
            or key.startswith("/")
            or "\\" in key
            or "\0" in key
            or any(part in ("", ".", "..") for part in parts)
            or parts[0] == META
        ):
            raise InvalidBlobKey(
                f"blob key {key!r} is not a relative path inside {self.folder} "
                f"(no leading '/', no empty, '.' or '..' segments, no backslash, not under {META}/)"
            )
        path = self.folder.joinpath(*parts)
        if not path.resolve().is_relative_to(self.folder):  # a symlinked folder pointing out
            raise InvalidBlobKey(f"blob key {key!r} escapes {self.folder}")
        return path

    def _write(self, path: Path, data: bytes) -> None:
        tmp_dir = self.folder / META / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / uuid.uuid4().hex
        tmp.write_bytes(data)
        os.replace(tmp, path)  # same file system: the object appears whole or not at all

    def _meta_path(self, key: str) -> Path:
        return self.folder / META / "objects" / f"{key}.json"

    def get(self, key: str, bucket: str | None = None) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFound(f"no blob {key!r} in {self.folder}") from None

    def put(
        self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE, metadata: dict[str, str] | None = None
    ) -> str | None:
        """Store the object; None (no versions kept)."""
        path = self._path(key)
        meta = self._meta_path(key)
        if metadata or content_type != DEFAULT_CONTENT_TYPE:
            self._write(meta, json.dumps({"content_type": content_type, "metadata": metadata or {}}).encode())
        elif meta.exists():
            meta.unlink(missing_ok=True)  # an overwrite replaces the old metadata too, as S3's put does
        try:
            self._write(path, data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            # S3 can hold both "a" and "a/b"; a folder of files cannot
            raise InvalidBlobKey(f"blob key {key!r} collides with another key as a file and a folder") from None
        return None

    def head(self, key: str) -> dict[str, Any]:
        """The object's ``content_type`` and ``metadata`` (what S3's HeadObject tells)."""
        if not self.exists(key):
            raise BlobNotFound(f"no blob {key!r} in {self.folder}")
        meta = self._meta_path(key)
        if meta.exists():
            stored: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
            return stored
        return {"content_type": DEFAULT_CONTENT_TYPE, "metadata": {}}

    def copy(self, source_key: str, target_key: str, source_bucket: str | None = None) -> None:
        head = self.head(source_key)
        self.put(target_key, self.get(source_key), head["content_type"], head["metadata"])

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix`` (a string prefix, as S3's), sorted."""
        start = self.folder.joinpath(*prefix.split("/")[:-1]) if "/" in prefix else self.folder
        if (
            not start.resolve().is_relative_to(self.folder)
            or start.resolve().is_relative_to(self.folder / META)
            or not start.is_dir()
        ):
            return []
        found = []
        for root, dirs, files in os.walk(start):
            if Path(root) == self.folder:
                dirs[:] = [d for d in dirs if d != META]
            relative = Path(root).relative_to(self.folder).as_posix()
            for name in files:
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)

    def presigned_url(self, key: str, seconds: int = 7 * 24 * 3600) -> SignedLink:
        """A ``file://`` link to the object. Locally it never expires (a file has no
        signature); ``expires_at`` is what the AWS link would promise."""
        return SignedLink(self._path(key).as_uri(), datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds))
