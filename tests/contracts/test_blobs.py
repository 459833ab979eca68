"""The Blobs port's contract: the mail bucket, as files locally and as S3 on moto."""

from __future__ import annotations

import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.local_blobs import FileBlobs, InvalidBlobKey
from ports import BlobNotFound, Blobs
from tests.contracts.aws_moto import REGION, mocked_aws

BUCKET = "crm-mail"

folder_segment = st.text("abc-_", min_size=1, max_size=3)
file_segment = st.text("abcxyz.-_", min_size=1, max_size=6).map(lambda s: s + ".eml")
# a folder segment never ends in ".eml", so a key is never both a file and a folder
blob_key = st.builds(lambda folders, name: "/".join([*folders, name]), st.lists(folder_segment, max_size=3), file_segment)


class BlobsContract(ABC):
    @abstractmethod
    def backend(self, tmp_path: Path) -> AbstractContextManager[Blobs]: ...

    @pytest.fixture
    def blobs(self, tmp_path: Path) -> Iterator[Blobs]:
        with self.backend(tmp_path) as blobs:
            yield blobs

    def test_put_then_get_gives_the_bytes_back(self, blobs: Blobs) -> None:
        data = bytes(range(256)) * 40
        assert blobs.put("inbox/ses-1", data, "message/rfc822", {"source": "ses"}) is None  # no versions kept
        assert blobs.get("inbox/ses-1") == data
        assert blobs.exists("inbox/ses-1")
        blobs.put("inbox/ses-1", b"second")
        assert blobs.get("inbox/ses-1") == b"second"

    def test_a_missing_key_is_blob_not_found(self, blobs: Blobs) -> None:
        assert not blobs.exists("inbox/none")
        with pytest.raises(BlobNotFound):
            blobs.get("inbox/none")

    def test_keys_are_the_string_prefix_matches_sorted(self, blobs: Blobs) -> None:
        for key in ["inbox/b", "inbox/a", "inbox/ab/c", "inbox/abc", "quarantine/a", "inboxes/x"]:
            blobs.put(key, key.encode())
        assert blobs.keys("inbox/") == ["inbox/a", "inbox/ab/c", "inbox/abc", "inbox/b"]
        assert blobs.keys("inbox/a") == ["inbox/a", "inbox/ab/c", "inbox/abc"]
        assert blobs.keys("inbox") == ["inbox/a", "inbox/ab/c", "inbox/abc", "inbox/b", "inboxes/x"]
        assert blobs.keys("nothing/") == []
        assert blobs.keys("") == sorted(["inbox/b", "inbox/a", "inbox/ab/c", "inbox/abc", "quarantine/a", "inboxes/x"])

    def test_copy_duplicates_and_keeps_the_source(self, blobs: Blobs) -> None:
        blobs.put("inbox/one", b"mail", "message/rfc822")
        blobs.copy("inbox/one", "quarantine/one")
        assert blobs.get("quarantine/one") == b"mail"
        assert blobs.get("inbox/one") == b"mail"

    def test_a_presigned_link_promises_no_more_than_asked(self, blobs: Blobs) -> None:
        blobs.put("attachments/cv.pdf", b"%PDF")
        before = datetime.now(UTC)
        link = blobs.presigned_url("attachments/cv.pdf", seconds=3600)
        assert link.url
        assert before + timedelta(seconds=3590) <= link.expires_at <= before + timedelta(seconds=3601)

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    @given(st.sets(blob_key, max_size=12), st.text("abc-_/", max_size=4))
    def test_keys_lists_exactly_what_was_put(self, blobs: Blobs, keys: set[str], prefix: str) -> None:
        for key in keys:
            blobs.put(f"gen/{key}", key.encode())
        listed = blobs.keys(f"gen/{prefix}")
        assert listed == sorted(k for k in blobs.keys("gen/") if k.startswith(f"gen/{prefix}"))
        assert set(blobs.keys("gen/")) >= {f"gen/{k}" for k in keys}
        for key in keys:
            assert blobs.get(f"gen/{key}") == key.encode()


class TestAwsBlobs(BlobsContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[Blobs]:
        from adapters.aws import client
        from adapters.blobs import BlobStore

        with mocked_aws():
            client("s3", REGION).create_bucket(Bucket=BUCKET)
            yield BlobStore(BUCKET, REGION)


class TestLocalBlobs(BlobsContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[Blobs]:
        yield FileBlobs(tmp_path / "mail")

    @pytest.mark.parametrize(
        "key", ["../outside", "/etc/passwd", "inbox/../../x", "inbox//x", "inbox/./x", "", ".meta/objects/x", "a\\b", "inbox/"]
    )
    def test_a_key_outside_the_folder_is_refused_by_name(self, tmp_path: Path, key: str) -> None:
        blobs = FileBlobs(tmp_path / "mail")
        for call in (lambda: blobs.put(key, b"x"), lambda: blobs.get(key), lambda: blobs.exists(key)):
            with pytest.raises(InvalidBlobKey, match="blob key"):
                call()
        assert not (tmp_path / "outside").exists() and not (tmp_path / "x").exists()

    def test_a_symlink_out_of_the_folder_is_refused(self, tmp_path: Path) -> None:
        blobs = FileBlobs(tmp_path / "mail")
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "mail" / "link").symlink_to(tmp_path / "elsewhere")
        with pytest.raises(InvalidBlobKey, match="escapes"):
            blobs.put("link/x", b"x")

    def test_a_key_that_is_both_file_and_folder_is_refused_clearly(self, tmp_path: Path) -> None:
        blobs = FileBlobs(tmp_path / "mail")
        blobs.put("inbox/a", b"x")
        with pytest.raises(InvalidBlobKey, match="collides"):
            blobs.put("inbox/a/b", b"y")

    def test_content_type_and_metadata_are_kept_and_copied(self, tmp_path: Path) -> None:
        blobs = FileBlobs(tmp_path / "mail")
        blobs.put("inbox/one", b"mail", "message/rfc822", {"source": "ses"})
        blobs.copy("inbox/one", "quarantine/one")
        assert blobs.head("quarantine/one") == {"content_type": "message/rfc822", "metadata": {"source": "ses"}}
        blobs.put("inbox/one", b"plain")
        assert blobs.head("inbox/one") == {"content_type": "application/octet-stream", "metadata": {}}
        assert blobs.keys("") == ["inbox/one", "quarantine/one"]  # the sidecars are not keys
        assert blobs.keys(".meta/") == blobs.keys(".meta/objects/") == blobs.keys("../") == []
        with pytest.raises(BlobNotFound):
            blobs.copy("inbox/none", "x")

    def test_the_link_is_a_file_url_to_the_bytes(self, tmp_path: Path) -> None:
        blobs = FileBlobs(tmp_path / "mail")
        blobs.put("attachments/cv one.pdf", b"%PDF-1.4")
        link = blobs.presigned_url("attachments/cv one.pdf")
        assert link.url.startswith("file://")
        with urllib.request.urlopen(link.url) as response:
            assert response.read() == b"%PDF-1.4"

    def test_no_temporary_file_is_left_behind(self, tmp_path: Path) -> None:
        blobs = FileBlobs(tmp_path / "mail")
        for n in range(5):
            blobs.put(f"inbox/{n}", b"x" * n, "message/rfc822")
        assert list((tmp_path / "mail" / ".meta" / "tmp").iterdir()) == []
