"""The [dask] extra: a bag of paths or S3 keys classified on a real distributed.LocalCluster."""

from __future__ import annotations

import json
import mailbox
import os
from pathlib import Path

import pytest

from bounce_classify import classify

FIXTURES = Path(__file__).parent / "fixtures"

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # two worker processes, one thread each, on loopback only
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def _sources(tmp_path: Path) -> tuple[list[str], list[dict]]:
    """Message files, an mbox and a Maildir, and the records classify() gives for them, in order."""
    emls = sorted(FIXTURES.rglob("*.eml"))[:10]
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for p in emls[:6]:
        box.add(p.read_bytes())
    box.flush()
    md = mailbox.Maildir(tmp_path / "Maildir")
    md.add(emls[6].read_bytes())
    sources = [str(p) for p in emls] + [str(tmp_path / "archive.mbox"), str(tmp_path / "Maildir")]
    expected = []
    for p in emls:
        expected += [r.to_dict() for r in classify(p.read_bytes(), source=str(p))]
    return sources, expected


def _lines(files: list[str]) -> list[dict]:
    return [json.loads(line) for f in files for line in Path(f).read_text().splitlines()]


def test_a_bag_of_paths_becomes_json_lines_partitions_on_two_workers(client, tmp_path: Path) -> None:
    from distributed import get_task_stream

    from bounce_classify.dask_bag import classify_to_jsonl

    sources, expected = _sources(tmp_path)
    with get_task_stream(client) as stream:
        written = classify_to_jsonl(sources, str(tmp_path / "out"), npartitions=6)
    assert [Path(w).name for w in written] == [f"{i}.jsonl" for i in range(6)]
    lines = _lines(written)
    # the single files come first, in order, exactly as classify() gives them
    assert lines[:len(expected)] == expected
    rest = lines[len(expected):]
    assert len(rest) >= 7 and {r["source"].split("#")[0] for r in rest} >= {str(tmp_path / "archive.mbox")}
    # the partitions ran on both worker processes
    assert len({task["worker"] for task in stream.data}) == 2


def test_a_path_that_cannot_be_read_is_an_error_line_not_a_lost_task(client, tmp_path: Path) -> None:
    from bounce_classify.dask_bag import classify_to_jsonl

    good = str(sorted(FIXTURES.rglob("*.eml"))[0])
    written = classify_to_jsonl([good, str(tmp_path / "missing.eml")], str(tmp_path / "out"), npartitions=2)
    lines = _lines(written)
    assert lines[0]["source"] == good and "reason" in lines[0]
    assert lines[-1]["source"] == str(tmp_path / "missing.eml") and "error" in lines[-1]


def test_s3_keys_in_a_bag(client, tmp_path: Path, aws_env: str) -> None:
    """Workers read s3:// keys from moto_server; they were started before the test's environment,
    so the environment is handed to them explicitly."""
    import boto3

    from bounce_classify.dask_bag import classify_to_jsonl

    env = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                       "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")}
    client.run(lambda: os.environ.update(env))
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bounces")
    emls = sorted(FIXTURES.rglob("*.eml"))[:5]
    for i, p in enumerate(emls):
        s3.put_object(Bucket="bounces", Key=f"raw/{i:02d}.eml", Body=p.read_bytes())
    written = classify_to_jsonl(["s3://bounces/raw/"], str(tmp_path / "out"))
    lines = _lines(written)
    # one line per result, in key order (a fixture may hold several recipients)
    local = [(f"s3://bounces/raw/{i:02d}.eml", r.reason) for i, p in enumerate(emls) for r in classify(p.read_bytes())]
    assert [(r["source"], r["reason"]) for r in lines] == local
