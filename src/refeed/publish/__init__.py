"""Publishing the output folder to S3-compatible object storage (S3, R2, MinIO, B2, Ceph RGW…).

    objects   pure: what each file is as an object (kind, Content-Type, Cache-Control) and the
              plan that brings a bucket in line with the folder, in a safe order
    files     the output folder as storage sees it: refeed's files, their stats and MD5s
    s3        one target's bucket through boto3 (the only boto3 import), loaded by connect()

The pipeline runs it after the files are written and before WebSub is told; the state store
remembers per target what was put, so a build that changed nothing sends no request at all.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from ..config import PublishConfig, PublishTarget
from .files import md5, scan
from .objects import WAVES, Headers, Kind, LocalFile, Plan, Upload, kind_of, plan, verify_plan

if TYPE_CHECKING:
    from .s3 import Bucket

__all__ = [
    "WAVES",
    "Headers",
    "Kind",
    "LocalFile",
    "Plan",
    "Upload",
    "available",
    "connect",
    "kind_of",
    "md5",
    "plan",
    "scan",
    "verify_plan",
]
CLIENT_MISSING = "needs the boto3 library, which is not installed: pip install 'refeed[s3]'"


def available() -> bool:
    """Whether the client library is installed (found without importing it)."""
    return importlib.util.find_spec("boto3") is not None


def connect(target: PublishTarget, settings: PublishConfig) -> Bucket:
    """The target's bucket; boto3 loads here, the first time anything is sent."""
    from .s3 import Bucket

    return Bucket(target, settings)
