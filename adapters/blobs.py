"""The mail bucket: raw mail under ``inbox/``, rejected mail under ``quarantine/``,
attachments and their text under ``attachments/`` and ``extracted/``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from adapters.aws import client, error_code
from ports import BlobNotFound as BlobNotFound  # re-exported: callers catch it from here
from ports import SignedLink as SignedLink

# A link signed with temporary credentials dies with them (S3 checks the session
# token): in Lambda those are the role's session credentials, whose expiry the
# function is not told. The link then promises no more than this.
TEMPORARY_CREDENTIALS_SECONDS = 3600


class BlobStore:
    def __init__(self, bucket: str, region: str, endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self._s3 = client("s3", region, endpoint_url)

    def get(self, key: str, bucket: str | None = None) -> bytes:
        try:
            response = self._s3.get_object(Bucket=bucket or self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
                raise BlobNotFound(f"s3://{bucket or self.bucket}/{key}") from None
            raise
        body: bytes = response["Body"].read()
        return body

    # No ServerSideEncryption argument: the bucket's default (SSE-KMS with the
    # stack's key, infra/modules/storage) applies; naming one here would override it.
    def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream", metadata: dict[str, str] | None = None
    ) -> str | None:
        """Store the object; its version id when the bucket keeps versions."""
        response = self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata or {})
        version: str | None = response.get("VersionId")
        return version

    def copy(self, source_key: str, target_key: str, source_bucket: str | None = None) -> None:
        self._s3.copy_object(
            Bucket=self.bucket, Key=target_key, CopySource={"Bucket": source_bucket or self.bucket, "Key": source_key}
        )

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(str(o["Key"]) for o in page.get("Contents") or [])
        return found

    def signing_lifetime(self, seconds: int) -> int:
        """How long a link signed now can work: ``seconds``, capped by the signing credentials' lifetime."""
        credentials = getattr(getattr(self._s3, "_request_signer", None), "_credentials", None)
        expiry = getattr(credentials, "_expiry_time", None)  # refreshable credentials know their expiry
        if isinstance(expiry, datetime):
            left = int((expiry - datetime.now(expiry.tzinfo or UTC)).total_seconds())
            return max(60, min(seconds, left))
        if getattr(credentials, "token", None):
            return min(seconds, TEMPORARY_CREDENTIALS_SECONDS)
        return seconds

    def presigned_url(self, key: str, seconds: int = 7 * 24 * 3600) -> SignedLink:
        """A GET link for ``key`` and the latest moment it works (never later than the credentials)."""
        lifetime = self.signing_lifetime(seconds)
        url: str = self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=lifetime)
        return SignedLink(url, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lifetime))
