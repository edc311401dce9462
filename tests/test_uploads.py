"""Publishing to object storage, end to end, against a real S3 API server on 127.0.0.1 (moto's
standalone server, started here) behind a recording proxy (tests/s3server.py), with the real
client: builds, refeed publish, --verify, check and the exit codes."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

import refeed
from conftest import NOW, SiteFactory, article
from refeed.cli import main
from refeed.config import Config
from refeed.errors import ConfigError
from refeed.publish import files
from refeed.publish.objects import content_type, kind_of
from s3server import Moto, Proxy, Request, start_moto

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KEY_ID, SECRET = "AKIDREFEEDTEST7Q", "refeed-test-secret-5bXq9"  # must never be printed or stored


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Environment credentials only, and nothing on this machine's own AWS setup is read
    (no instance metadata lookup: no network beyond 127.0.0.1)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "HTTP_PROXY",
                 "HTTPS_PROXY", "http_proxy", "https_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def proxy(moto: Moto) -> Iterator[Proxy]:
    recorder = Proxy(moto.port)
    yield recorder
    recorder.close()


@pytest.fixture
def s3(moto: Moto) -> S3Client:
    """Straight to moto (not through the proxy): what the tests look at is not recorded."""
    return boto3.session.Session().client("s3", endpoint_url=moto.url, region_name="us-east-1")


@pytest.fixture
def bucket(s3: S3Client) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def objects(s3: S3Client, bucket: str, prefix: str = "feeds/") -> dict[str, bytes]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def published(cfg: Config) -> dict[str, bytes]:
    """What the bucket must hold: refeed's files of the output folder, under feeds/."""
    root = cfg.output.dir
    return {f"feeds/{rel}": (root / rel).read_bytes() for rel in files.scan(root)}


def keys(requests: list[Request]) -> list[str]:
    return sorted(r.key for r in requests)


CATEGORIES = {
    "a1.md": article("A one", categories=["Alpha"]),
    "a2.md": article("A two", date="2021-11-02T10:00:00Z", categories=["Alpha"]),
    "b1.md": article("B one", date="2021-11-03T10:00:00Z", categories=["Beta"]),
}


def site(
    make_site: SiteFactory,
    bucket: str,
    endpoint: str,
    articles: dict[str, str] | None = None,
    **sections: dict[str, Any],
) -> Config:
    publish = {"targets": [{"url": f"s3://{bucket}/feeds/", "endpoint": endpoint}], "retries": 1}
    output = {"formats": ["atom", "rss", "json"], "index": True, "opml": True, "stylesheet": True,
              "preview": True}  # fmt: skip
    return make_site(
        CATEGORIES if articles is None else articles,
        publish={**publish, **sections.pop("publish", {})},
        output={**output, **sections.pop("output", {})},
        **sections,
    )


# --------------------------------------------------------------------------- the normal path


def test_first_publish_puts_every_file_with_its_type_cache_control_and_bytes(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    (cfg.output.dir).mkdir(parents=True, exist_ok=True)
    (cfg.output.dir / "README.md").write_text("mine, not published")
    report = refeed.build(cfg, now=NOW)
    assert report.publish_failed == [] and report.written
    stored = objects(s3, bucket)
    assert stored == published(cfg) and "feeds/README.md" not in stored
    assert len(stored) == len(report.written) == len(report.uploaded)
    pages = {"feeds/index.html", "feeds/feeds.opml", "feeds/feed.css", "feeds/feed.html"}
    assert pages | {"feeds/categories/alpha/feed.html"} <= set(stored)
    for key in stored:
        head = s3.head_object(Bucket=bucket, Key=key)
        rel = key.removeprefix("feeds/")
        assert head["ContentType"] == content_type(rel), key
        assert head["CacheControl"] == "public, max-age=300, must-revalidate", key
    types = {"atom.xml": "application/atom+xml; charset=utf-8",
             "rss.xml": "application/rss+xml; charset=utf-8",
             "feed.json": "application/feed+json; charset=utf-8",
             "index.html": "text/html; charset=utf-8", "feeds.opml": "text/x-opml; charset=utf-8",
             "feed.css": "text/css; charset=utf-8",
             "categories/alpha/feed.html": "text/html; charset=utf-8"}  # fmt: skip
    for rel, expected in types.items():
        assert s3.head_object(Bucket=bucket, Key=f"feeds/{rel}")["ContentType"] == expected


def test_a_no_op_build_sends_no_request(make_site: SiteFactory, proxy: Proxy, bucket: str) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    proxy.clear()
    report = refeed.build(cfg, now=NOW)
    assert report.uploaded == [] and proxy.requests == []


def test_an_edit_uploads_only_the_changed_feeds_and_pages(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    proxy.clear()
    edited = article("A two, edited", date="2021-11-02T10:00:00Z", categories=["Alpha"])
    (cfg.articles.dir / "a2.md").write_text(
        edited, encoding="utf-8"
    )  # Alpha's newest: on the index
    report = refeed.build(cfg, now=NOW)
    put = keys(proxy.of("PUT"))
    assert put == sorted(f"feeds/{rel}" for rel in report.written)
    assert "feeds/categories/alpha/atom.xml" in put and "feeds/index.html" in put
    assert not [key for key in put if "beta" in key]  # the other category's feeds stay
    assert "feeds/categories/alpha/feed.html" in put  # its preview page shows the new title
    assert "feeds/feed.css" not in put  # the same bytes: not sent again
    assert proxy.of("GET", "HEAD", "DELETE") == []  # no listing on the normal path
    assert objects(s3, bucket) == published(cfg)


def test_a_removed_category_loses_its_objects_and_foreign_objects_stay(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    foreign = {"feeds/notes.txt": b"theirs", "feeds/categories/beta/extra.html": b"theirs too"}
    for key, data in foreign.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    (cfg.articles.dir / "b1.md").unlink()
    proxy.clear()
    report = refeed.build(cfg, now=NOW, prune=True)
    names = ("atom.xml", "feed.html", "feed.json", "rss.xml")  # the preview page goes too
    beta = [f"feeds/categories/beta/{name}" for name in names]
    assert keys(proxy.of("DELETE")) == beta and len(report.deleted) == 4
    stored = objects(s3, bucket)
    assert stored == {**published(cfg), **foreign}


def test_media_then_feeds_then_pages_then_deletions_then_the_hub(
    make_site: SiteFactory, proxy: Proxy, bucket: str
) -> None:
    def thumb(name: str) -> str:
        return f"{proxy.url}/img/{name}.png"

    cfg = site(
        make_site, bucket, proxy.url,
        {**CATEGORIES, "b1.md": article("B one", categories=["Beta"], thumbnail=thumb("b"))},
        thumbnails={"mode": "mirror", "offline": False, "allow": ["127.0.0.1"]},
        websub={"hub": f"{proxy.url}/hub"},
    )  # fmt: skip
    refeed.build(cfg, now=NOW)
    (cfg.articles.dir / "a2.md").unlink()  # Alpha keeps a1; …
    (cfg.articles.dir / "b1.md").unlink()  # … Beta is gone: its feeds and its picture
    new = article("G one", date="2021-11-04T10:00:00Z", categories=["Gamma"], thumbnail=thumb("g"))
    (cfg.articles.dir / "g1.md").write_text(new, encoding="utf-8")
    proxy.clear()
    refeed.build(cfg, now=NOW, prune=True)

    def kind(r: Request) -> str:
        if r.path == "/hub":
            return "hub"
        return "delete" if r.method == "DELETE" else kind_of(r.key.removeprefix("feeds/"))

    seen = [kind(r) for r in proxy.requests if r.method in ("PUT", "DELETE", "POST")]
    order = ["media", "feeds", "pages", "delete", "hub"]
    assert sorted(seen, key=order.index) == seen
    assert set(seen) == set(order)  # every kind took part


# --------------------------------------------------------------------------- failures


def test_5xx_answers_are_retried_and_the_publish_completes(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str
) -> None:
    cfg = site(make_site, bucket, proxy.url, publish={"retries": 3, "concurrency": 1})
    proxy.answer_503 = 3  # all to the first request: it succeeds at its fourth attempt
    report = refeed.build(cfg, now=NOW)
    assert report.publish_failed == []
    assert len(proxy.of("PUT")) == len(published(cfg)) + 3
    assert objects(s3, bucket) == published(cfg)


def test_a_wave_with_a_failure_holds_back_the_next_and_the_deletions(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str
) -> None:
    cfg = site(make_site, bucket, proxy.url, publish={"retries": 0, "concurrency": 1})
    refeed.build(cfg, now=NOW)
    (cfg.articles.dir / "b1.md").unlink()  # Beta goes: deletions are due too
    proxy.clear()
    proxy.answer_503 = 1  # the first feed fails, once, and is not retried (retries: 0)
    report = refeed.build(cfg, now=NOW, prune=True)
    assert len(report.publish_failed) == 1 and "SlowDown (HTTP 503)" in str(report.publish_failed)
    assert {kind_of(r.key.removeprefix("feeds/")) for r in proxy.of("PUT")} == {"feeds"}
    assert proxy.of("DELETE") == []
    proxy.clear()
    report = refeed.build(cfg, now=NOW)  # the next build finishes the job
    assert report.publish_failed == [] and proxy.of("DELETE")
    assert objects(s3, bucket) == published(cfg)


def test_uploads_run_concurrently_but_never_more_than_publish_concurrency(
    make_site: SiteFactory, proxy: Proxy, bucket: str
) -> None:
    cfg = site(make_site, bucket, proxy.url, publish={"concurrency": 3})
    proxy.delay = 0.05
    refeed.build(cfg, now=NOW)
    assert 2 <= proxy.most_in_flight <= 3


def test_a_server_stopped_mid_publish_exits_5_and_the_next_build_completes(
    make_site: SiteFactory,
    proxy: Proxy,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    proxy.die_after_puts = 5
    assert main(["build", "--config", str(tmp_path / "config.yaml")]) == 5
    said = capsys.readouterr()
    [line] = [line for line in said.err.splitlines() if line.startswith("publish s3://")]
    assert "uploads and 0 of 0 deletions not done" in line and "refeed publish" in line
    assert "publish FAILED on 1 target(s)" in said.out
    stored = objects(s3, bucket)
    assert 5 <= len(stored) < len(published(cfg))
    assert not [key for key in stored if kind_of(key.removeprefix("feeds/")) == "pages"]
    answered = {r.key for r in proxy.answered if r.method == "PUT"}
    assert len(answered) == 5  # the sixth arrived (and was kept) but was never answered
    proxy.dead, proxy.die_after_puts = False, None
    proxy.clear()
    assert main(["build", "--config", str(tmp_path / "config.yaml"), "-q"]) == 0
    assert objects(s3, bucket) == published(cfg)  # nothing missing, every byte right
    resent = {r.key for r in proxy.of("PUT")}
    assert resent == set(published(cfg)) - answered  # only what was not recorded as done


def test_one_failing_target_does_not_stop_another_and_the_hub_waits_for_both(
    make_site: SiteFactory, proxy: Proxy, moto: Moto, s3: S3Client, bucket: str
) -> None:
    other = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=other)
    targets = [
        {"url": f"s3://{bucket}/feeds/", "endpoint": proxy.url},
        {"url": f"s3://{other}/feeds/", "endpoint": moto.url},
    ]
    hub = f"{proxy.url}/hub"
    cfg = site(make_site, bucket, proxy.url, publish={"targets": targets}, websub={"hub": hub})
    proxy.dead = True
    report = refeed.build(cfg, now=NOW)
    assert [p.path for p in report.publish_failed] == [
        f"publish s3://{bucket}/feeds/ at {proxy.url}"
    ]
    assert objects(s3, other) == published(cfg) and objects(s3, bucket) == {}
    assert [r for r in proxy.requests if r.path == "/hub"] == []  # not yet: not everywhere
    proxy.dead = False
    proxy.clear()
    report = refeed.build(cfg, now=NOW)
    assert report.publish_failed == [] and objects(s3, bucket) == published(cfg)
    told = [r for r in proxy.requests if r.path == "/hub"]
    feeds = [key for key in published(cfg) if kind_of(key.removeprefix("feeds/")) == "feeds"]
    assert len(told) == len(feeds)
    assert proxy.requests.index(told[0]) > max(proxy.requests.index(r) for r in proxy.of("PUT"))


def test_an_empty_output_folder_is_never_published(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    before = objects(s3, bucket)
    for path in sorted(cfg.output.dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    proxy.clear()
    assert main(["publish", "--config", str(tmp_path / "config.yaml"), "-q"]) == 5
    assert proxy.requests == [] and objects(s3, bucket) == before


# --------------------------------------------------------------------------- commands


def test_no_publish_leaves_uploading_and_telling_the_hub_to_refeed_publish(
    make_site: SiteFactory,
    proxy: Proxy,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site(make_site, bucket, proxy.url, websub={"hub": f"{proxy.url}/hub"})
    config = str(tmp_path / "config.yaml")
    assert main(["build", "--config", config, "--no-publish", "-q"]) == 0
    assert proxy.requests == [] and (tmp_path / "feeds" / "atom.xml").is_file()
    assert main(["publish", "--config", config, "-v"]) == 0
    out = capsys.readouterr().out
    assert f"uploaded s3://{bucket}/feeds/atom.xml" in out and "objects uploaded" in out
    assert [r for r in proxy.requests if r.path == "/hub"]
    assert proxy.requests[-1].path == "/hub"
    proxy.clear()
    assert main(["publish", "--config", config]) == 0 and proxy.requests == []
    assert "refeed publish: nothing to do" in capsys.readouterr().out


def test_verify_repairs_a_tampered_and_a_deleted_object_and_removes_stale_ones(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    s3.put_object(Bucket=bucket, Key="feeds/atom.xml", Body=b"<feed>defaced</feed>")
    s3.delete_object(Bucket=bucket, Key="feeds/rss.xml")
    s3.put_object(Bucket=bucket, Key="feeds/theirs.txt", Body=b"foreign")
    stale = "feeds/categories/gone/atom.xml"  # put by refeed, its record lost with a state store
    s3.put_object(Bucket=bucket, Key=stale, Body=b"old", Metadata={"generator": "refeed"})
    config = str(tmp_path / "config.yaml")
    proxy.clear()
    assert main(["publish", "--config", config, "-q"]) == 0
    assert proxy.requests == []  # the normal path trusts the records: no listing
    assert main(["publish", "--verify", "--config", config, "-q"]) == 0
    assert keys(proxy.of("PUT")) == ["feeds/atom.xml", "feeds/rss.xml"]
    assert keys(proxy.of("DELETE")) == [stale]
    assert objects(s3, bucket) == {**published(cfg), "feeds/theirs.txt": b"foreign"}


def test_verify_uploads_what_changed_locally_since_the_last_publish(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    (cfg.articles.dir / "a1.md").write_text(article("A one, edited", categories=["Alpha"]))
    config = str(tmp_path / "config.yaml")
    assert main(["build", "--config", config, "--no-publish", "-q"]) == 0
    proxy.clear()
    assert main(["publish", "--verify", "--config", config, "-q"]) == 0
    assert "feeds/categories/alpha/atom.xml" in keys(proxy.of("PUT"))
    assert objects(s3, bucket) == published(cfg)
    proxy.clear()
    assert main(["publish", "--config", config, "-q"]) == 0 and proxy.requests == []


def test_objects_carry_refeeds_marker_so_verify_cleans_up_after_a_lost_state_store(
    make_site: SiteFactory, proxy: Proxy, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    for key in objects(s3, bucket):
        assert s3.head_object(Bucket=bucket, Key=key)["Metadata"] == {"generator": "refeed"}, key
    s3.put_object(Bucket=bucket, Key="feeds/categories/beta/notes.txt", Body=b"foreign")
    shutil.rmtree(cfg.state_dir)  # the records of what was published are gone
    (cfg.articles.dir / "b1.md").unlink()  # and category Beta with them
    config = str(tmp_path / "config.yaml")
    assert main(["build", "--config", config, "--no-publish", "-q"]) == 0
    assert main(["publish", "--verify", "--config", config, "-q"]) == 0
    beta = sorted(k for k in objects(s3, bucket) if k.startswith("feeds/categories/beta/"))
    assert beta == ["feeds/categories/beta/notes.txt"]  # refeed's own objects only are removed
    assert objects(s3, bucket) == {**published(cfg), "feeds/categories/beta/notes.txt": b"foreign"}


def test_check_probes_each_target_and_names_the_credential_source(
    make_site: SiteFactory,
    proxy: Proxy,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    with caplog.at_level(logging.INFO, logger="refeed"):
        assert refeed.check(cfg) == []
    [put] = proxy.of("PUT")
    assert put.key.startswith("feeds/.refeed-check-") and keys(proxy.of("DELETE")) == [put.key]
    assert objects(s3, bucket) == {}  # the probe is gone again
    assert "reachable and writable (credentials: environment variables" in caplog.text
    # A shared credentials file's profile, named by the target:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (tmp_path / "no-aws-credentials").write_text(
        f"[feeds]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    )
    target = {"url": f"s3://{bucket}/feeds/", "endpoint": proxy.url, "profile": "feeds"}
    cfg = site(make_site, bucket, proxy.url, publish={"targets": [target]})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="refeed"):
        assert refeed.check(cfg) == []
    assert "(credentials: shared credentials file, profile feeds)" in caplog.text
    proxy.dead = True
    [problem] = refeed.check(cfg)
    assert problem.path == f"publish s3://{bucket}/feeds/ at {proxy.url}"


def test_check_names_missing_credentials_and_a_missing_bucket(
    make_site: SiteFactory, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = site(make_site, "no-such-bucket-here", proxy.url)
    [missing] = refeed.check(cfg)
    assert "NoSuchBucket (HTTP 404)" in missing.reason
    proxy.clear()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    [anonymous] = refeed.check(cfg)
    assert anonymous.reason.startswith("no credentials found: set AWS_ACCESS_KEY_ID")
    assert proxy.requests == []  # nothing is sent unsigned


def test_credentials_never_reach_the_logs_the_status_or_the_state(
    make_site: SiteFactory, proxy: Proxy, moto: Moto, bucket: str, tmp_path: Path
) -> None:
    targets = [
        {"url": f"s3://{bucket}/feeds/", "endpoint": moto.url},
        {"url": "s3://no-such-bucket-here/", "endpoint": proxy.url},  # fails: errors are logged
    ]
    site(make_site, bucket, proxy.url, publish={"targets": targets})
    said = ""
    for command in (["build", "-vv"], ["publish", "--verify", "-vv"], ["check", "-vv"],
                    ["build", "-vv", "--log-format", "json"]):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "refeed", *command, "--config", "config.yaml"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode in (1, 5), result.stderr
        said += result.stdout + result.stderr
    assert "NoSuchBucket" in said and "uploaded s3://" in said  # it did talk, and fail
    state = tmp_path / ".refeed"
    status = (state / "status.json").read_text(encoding="utf-8")
    assert json.loads(status)["publish"]["failed"] == 1
    for secret in (KEY_ID, SECRET):
        assert secret not in said and secret not in status
        assert secret.encode() not in (state / "state.sqlite3").read_bytes()


def test_a_no_op_build_with_publish_configured_imports_no_client_library(
    make_site: SiteFactory, proxy: Proxy, bucket: str, tmp_path: Path
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    refeed.build(cfg, now=NOW)
    script = (
        "import sys, refeed\n"
        f"report = refeed.build(refeed.load_config({str(tmp_path / 'config.yaml')!r}))\n"
        "assert not report.publish_failed and not report.uploaded\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_publish_without_the_client_library_is_refused_naming_the_key(
    make_site: SiteFactory, proxy: Proxy, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = site(make_site, bucket, proxy.url)
    monkeypatch.setattr("refeed.publish.available", lambda: False)
    with pytest.raises(ConfigError, match=r"publish: needs the boto3 library.*refeed\[s3\]"):
        refeed.build(cfg, now=NOW)
    assert proxy.requests == [] and not cfg.output.dir.exists()


def test_refeed_publish_without_a_publish_section_exits_2_naming_it(
    make_site: SiteFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_site(CATEGORIES)
    assert main(["publish", "--config", str(tmp_path / "config.yaml")]) == 2
    assert "publish: not configured; add a publish: section" in capsys.readouterr().err
