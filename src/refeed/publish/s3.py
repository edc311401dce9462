"""One publish target's bucket, spoken to through boto3 (the only boto3 and botocore import).

boto3 because it reads the whole standard credential chain (environment, shared credentials and
config files with their profiles, SSO, web identity, container and instance roles) and says
which source it used; its "standard" retry mode retries network errors, throttling and 5xx with
exponential backoff and jitter. It is imported only when something is to be put, listed or
probed: a build with nothing to upload never loads it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import boto3
from botocore.config import Config as ClientConfig
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..__about__ import __version__
from ..config import PublishConfig, PublishTarget
from ..errors import PublishError
from ..models import StoredObject
from . import files
from .objects import Upload

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")
R = TypeVar("R")
# User metadata on every object refeed puts: how --verify tells refeed's own objects from
# others' under the same prefix, even after the state store was lost.
MARKER = {"generator": "refeed"}
NO_CREDENTIALS = (
    "no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a shared "
    "profile (profile: or AWS_PROFILE), or run with an instance or container role"
)
_SOURCES = {
    "env": "environment variables (AWS_ACCESS_KEY_ID)",
    "shared-credentials-file": "shared credentials file, profile {profile}",
    "config-file": "shared config file, profile {profile}",
    "custom-process": "credential_process of profile {profile}",
    "assume-role": "a role assumed by profile {profile}",
    "sso": "IAM Identity Center (SSO), profile {profile}",
    "assume-role-with-web-identity": "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "container-role": "container role (ECS/EKS credentials endpoint)",
    "iam-role": "instance role (instance metadata service)",
}


class Bucket:
    """A target's bucket and prefix, with a bounded pool of uploads in flight; a context manager."""

    def __init__(self, target: PublishTarget, settings: PublishConfig) -> None:
        self.target = target
        try:
            self.session = boto3.session.Session(profile_name=target.profile)
            self.client: S3Client = self.session.client(
                "s3",
                endpoint_url=target.endpoint,
                region_name=target.region or ("us-east-1" if target.endpoint else None),
                config=ClientConfig(
                    retries={"mode": "standard", "total_max_attempts": settings.retries + 1},
                    connect_timeout=settings.timeout,
                    read_timeout=settings.timeout,
                    max_pool_connections=settings.concurrency,
                    s3={"addressing_style": target.addressing},
                    # Content-MD5 guards every put instead: S3-compatible services that predate
                    # the newer checksum headers (older MinIO, Ceph, B2) accept it.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    user_agent_extra=f"refeed/{__version__}",
                ),
            )
        except BotoCoreError as exc:  # a profile that does not exist, a bad endpoint
            raise PublishError(target.name, _reason(exc)) from None
        self.pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="refeed-publish")

    def __enter__(self) -> Bucket:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.pool.shutdown(cancel_futures=True)
        self.client.close()

    def url(self, file: str) -> str:
        return f"s3://{self.target.bucket}/{self.target.prefix}{file}"

    # ----------------------------------------------------------------- many at once

    def upload(
        self, wave: list[Upload], root: Path
    ) -> Iterator[tuple[str, StoredObject | PublishError]]:
        """Put each file of ``wave`` (read from ``root``); yields each outcome as it comes, in
        this thread. After a failure what has not started is dropped: the wave cannot complete."""
        for upload, outcome in self._each(partial(self._put, root), wave):
            yield upload.file, outcome

    def delete(self, names: list[str]) -> Iterator[tuple[str, PublishError | None]]:
        """Remove each object; yields each outcome as it comes (None: removed)."""
        yield from self._each(self._delete, names)

    def marked(self, candidates: list[str]) -> set[str]:
        """Which of these objects carry refeed's marker (one HEAD each: only ``--verify``
        asks, and only about objects the state store does not know)."""
        found = set()
        for file, outcome in self._each(self._is_marked, candidates):
            if isinstance(outcome, PublishError):
                raise outcome
            if outcome:
                found.add(file)
        return found

    def _each(self, work: Callable[[T], R], items: list[T]) -> Iterator[tuple[T, R | PublishError]]:
        futures: dict[Future[R], T] = {self.pool.submit(work, item): item for item in items}
        try:
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                try:
                    yield futures[future], future.result()
                except PublishError as exc:
                    for waiting in futures:
                        waiting.cancel()
                    yield futures[future], exc
        finally:  # the caller stopped early: drop what has not started
            for waiting in futures:
                waiting.cancel()

    # ----------------------------------------------------------------- one object

    def _put(self, root: Path, upload: Upload) -> StoredObject:
        try:
            data, stat = files.read(root, upload.file)
        except OSError as exc:
            raise PublishError(
                self.target.name, f"{upload.file}: cannot read: {exc.strerror or exc}"
            ) from None
        digest = files.md5_of(data)
        with self._calling(upload.file):
            answer = self.client.put_object(
                Bucket=self.target.bucket,
                Key=self.target.prefix + upload.file,
                Body=data,
                ContentType=upload.headers.content_type,
                CacheControl=upload.headers.cache_control,
                ContentMD5=base64.b64encode(binascii.unhexlify(digest)).decode("ascii"),
                Metadata=MARKER,
            )
        return StoredObject(digest, _etag(answer["ETag"]), upload.headers.key, *stat)

    def _delete(self, file: str) -> None:
        with self._calling(file):
            self.client.delete_object(Bucket=self.target.bucket, Key=self.target.prefix + file)

    def _is_marked(self, file: str) -> bool:
        with self._calling(file):
            head = self.client.head_object(Bucket=self.target.bucket, Key=self.target.prefix + file)
        return head.get("Metadata", {}).get("generator") == MARKER["generator"]

    def listing(self) -> dict[str, str]:
        """Every object under the prefix: its path below the prefix -> its ETag."""
        found = {}
        with self._calling("(listing)"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.target.bucket, Prefix=self.target.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    file = item["Key"][len(self.target.prefix) :]
                    if file and not file.endswith("/"):
                        found[file] = _etag(item.get("ETag", ""))
        return found

    def probe(self) -> str:
        """Put a small object and remove it again; returns where the credentials came from."""
        source = self.credential_source()
        key = f".refeed-check-{uuid.uuid4().hex}"
        with self._calling(key):
            self.client.put_object(
                Bucket=self.target.bucket,
                Key=self.target.prefix + key,
                Body=b"refeed check",
                Metadata=MARKER,
            )
        with self._calling(key):
            self.client.delete_object(Bucket=self.target.bucket, Key=self.target.prefix + key)
        return source

    def credential_source(self) -> str:
        """Which link of the standard chain gave the credentials (never the credentials)."""
        try:
            credentials = self.session.get_credentials()
        except BotoCoreError as exc:
            raise PublishError(self.target.name, _reason(exc)) from None
        if credentials is None:
            raise PublishError(self.target.name, NO_CREDENTIALS)
        profile = self.session.profile_name or "default"
        method = str(getattr(credentials, "method", "") or "unknown")
        return _SOURCES.get(method, method).format(profile=profile)

    def _calling(self, file: str) -> contextlib.AbstractContextManager[None]:
        return _calling(self.target.name, file)


@contextlib.contextmanager
def _calling(target: str, file: str) -> Iterator[None]:
    """Whatever botocore raises for one request becomes one PublishError line."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise PublishError(target, f"{file}: {_reason(exc)}") from None


def _reason(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{error.get('Code', 'error')} (HTTP {status}): {error.get('Message', '')}".rstrip(
            ": "
        )
    return str(exc) or type(exc).__name__


def _etag(value: str) -> str:
    return value.strip('"')
