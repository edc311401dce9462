"""The output folder onto object storage: after the files are written, before WebSub is told.

Per target, the state store's records say what the bucket holds, so the normal path lists
nothing and sends only what changed; each completed upload is recorded as it completes, so a
publish that fails part-way is finished by the next build or ``refeed publish``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from .. import publish, state
from ..config import Config, PublishTarget
from ..errors import ConfigError, PublishError
from ..models import FEED_FILES, Problem, RunReport
from .run import log

if TYPE_CHECKING:
    from ..publish.s3 import Bucket


def require_client(cfg: Config) -> None:
    """Refuse at the start, not half-way: publish: is configured but boto3 is missing."""
    if cfg.publish.targets and not publish.available():
        raise ConfigError(cfg.source, [f"publish: {publish.CLIENT_MISSING}"])


def publish_output(
    cfg: Config, store: state.State, report: RunReport, *, verify: bool = False
) -> list[str]:
    """Bring every target in line with the output folder; returns the feed files that were put
    in this run and are now in place on every target (the ones to tell the WebSub hub of)."""
    root = cfg.output.dir
    local = publish.scan(root)
    if not any(posixpath.basename(rel) in FEED_FILES.values() for rel in local):
        # An empty or missing folder would otherwise delete every object refeed put.
        report.publish_failed.append(
            Problem(str(root), "no feeds to publish here; run refeed build first")
        )
        log.error("publish: %s", report.publish_failed[-1])
        return []
    digests: dict[str, str] = {}

    def digest(rel: str) -> str:  # read once, whichever target asks first
        if rel not in digests:
            try:
                digests[rel] = publish.md5(root, rel)
            except OSError:  # gone or unreadable: the upload says so in one line
                digests[rel] = ""
        return digests[rel]

    put: set[str] = set()
    pending: set[str] = set()
    for target in cfg.publish.targets:
        done, left = _sync(
            cfg, store, report, target=target, local=local, digest=digest, verify=verify
        )
        put |= done
        pending |= left
    return sorted(rel for rel in put - pending if publish.kind_of(rel) == "feeds")


def _sync(
    cfg: Config,
    store: state.State,
    report: RunReport,
    *,
    target: PublishTarget,
    local: dict[str, publish.LocalFile],
    digest: publish.objects.Digest,
    verify: bool,
) -> tuple[set[str], set[str]]:
    """One target: (files put, files still to put)."""
    stored = store.objects(target.name)
    cache = cfg.publish.cache_control
    plan: publish.Plan | None = None
    if not verify:
        plan = publish.plan(local, stored, cache, digest=digest)
        _refresh(store, target, plan)
        if plan.idle:
            return set(), set()  # the common case: no client, no request
    try:
        with publish.connect(target, cfg.publish) as bucket:
            if plan is None:
                remote = bucket.listing()
                marked = bucket.marked(sorted(set(remote) - set(local) - set(stored)))
                plan = publish.verify_plan(
                    local, stored, cache, remote=remote, marked=marked, digest=digest
                )
                _refresh(store, target, plan)
            return _carry_out(store, report, bucket, plan=plan, root=cfg.output.dir)
    except PublishError as exc:  # no client, or the listing failed: nothing was put
        _failed(report, target, exc.reason)
        return set(), set(local) if plan is None else {u.file for u in plan.uploads}


def _refresh(store: state.State, target: PublishTarget, plan: publish.Plan) -> None:
    for rel, stored in plan.refreshed.items():
        store.put_object(target.name, rel, stored)
    for rel in plan.forgotten:
        store.forget_object(target.name, rel)


def _carry_out(
    store: state.State, report: RunReport, bucket: Bucket, *, plan: publish.Plan, root: Path
) -> tuple[set[str], set[str]]:
    """Wave after wave, deletions last; a wave with a failure ends the publish there."""
    target = bucket.target
    done: set[str] = set()
    deleted = 0
    errors: list[PublishError] = []
    for wave in plan.waves:
        for rel, outcome in bucket.upload(wave, root):
            if isinstance(outcome, PublishError):
                errors.append(outcome)
                continue
            store.put_object(target.name, rel, outcome)
            done.add(rel)
            report.uploaded.append(bucket.url(rel))
        if errors:
            break
    else:
        for rel, failure in bucket.delete(plan.deletes):
            if failure is not None:
                errors.append(failure)
                continue
            store.forget_object(target.name, rel)
            report.deleted.append(bucket.url(rel))
            deleted += 1
    pending = {upload.file for upload in plan.uploads} - done
    if errors:
        undeleted = len(plan.deletes) - deleted
        _failed(
            report,
            target,
            f"{len(pending)} of {len(plan.uploads)} uploads and {undeleted} of "
            f"{len(plan.deletes)} deletions not done ({errors[0].reason})",
        )
    return done, pending


def _failed(report: RunReport, target: PublishTarget, reason: str) -> None:
    report.publish_failed.append(
        Problem(
            f"publish {target.name}",
            f"{reason}; the output folder is complete, and the next build or refeed publish "
            "finishes the job",
        )
    )
    log.error("%s", report.publish_failed[-1])


def check_targets(cfg: Config) -> list[Problem]:
    """``refeed check``: each target reachable and writable (a probe object put and removed
    again), and which credential source was used; a problem for each that is not."""
    problems = []
    for target in cfg.publish.targets:
        try:
            with publish.connect(target, cfg.publish) as bucket:
                source = bucket.probe()
        except PublishError as exc:
            problems.append(Problem(f"publish {target.name}", exc.reason))
            log.warning("%s", problems[-1])
        else:
            log.info("publish %s: reachable and writable (credentials: %s)", target.name, source)
    return problems
