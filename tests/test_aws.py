"""Amazon SES end to end: SNS signatures, the SQS worker, the Lambda handler, S3 input,
and the suppression list.

SQS and S3 run against moto_server on loopback (real HTTP requests from boto3).  moto does
not serve the SES v2 suppression-list API, so those tests use botocore's Stubber, which
checks every request against the service model.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from bounce_classify.api import Failure, classify_paths
from bounce_classify.aws import lambda_handler, suppression
from bounce_classify.aws.sns import SnsVerificationError, SnsVerifier, string_to_sign, verify_item
from bounce_classify.aws.worker import Worker
from bounce_classify.ledger import open_ledger
from bounce_classify.sinks import LedgerSink
from servers import make_certificate

FIXTURES = Path(__file__).parent / "fixtures"
SES = FIXTURES / "ses-notification"


def ses_bounce(address: str) -> dict:
    """An SES hard bounce (unknown user) for ``address``, as SES publishes it."""
    inner = json.loads(json.loads((SES / "bounce-in-sns-envelope.json").read_text())["Message"])
    inner = json.loads(json.dumps(inner).replace(inner["bounce"]["bouncedRecipients"][0]["emailAddress"], address))
    inner["mail"]["messageId"] = str(uuid.uuid4())
    return inner


# -- SNS signatures -----------------------------------------------------------------------------

class _Keys:
    def __init__(self, tmp: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1)).sign(self.key, hashes.SHA256()))
        self.pem = cert.public_bytes(serialization.Encoding.PEM)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _CertServer:
    """HTTPS on loopback serving the signing certificate; counts fetches."""

    def __init__(self, pem: bytes, tls: tuple[Path, Path]) -> None:
        self.fetches = 0
        owner = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-pem-file")
                self.end_headers()
                self.wfile.write(pem)

            def log_message(self, *a) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*tls)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def sns(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sns")
    keys = _Keys(tmp)
    tls = make_certificate(tmp)
    srv = _CertServer(keys.pem, tls)
    yield keys, srv, str(tls[0])
    srv.close()


def signed(keys: _Keys, port: int, version: str = "1", key=None, host: str = "localhost", scheme: str = "https",
           **changes) -> dict:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    doc = {"Type": "Notification", "MessageId": str(uuid.uuid4()),
           "TopicArn": "arn:aws:sns:us-east-1:111122223333:ses-bounces", "Subject": None,
           "Message": json.dumps(ses_bounce("signed@example.org")), "Timestamp": "2026-03-02T09:14:10.000Z",
           "SignatureVersion": version,
           "SigningCertURL": f"{scheme}://{host}:{port}/SimpleNotificationService-abc.pem",
           "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}
    doc = {k: v for k, v in doc.items() if v is not None}
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    sig = (key or keys.key).sign(string_to_sign(doc), padding.PKCS1v15(), digest)
    doc["Signature"] = base64.b64encode(sig).decode()
    doc.update(changes)  # applied after signing: tampering
    return doc


def verifier(cafile: str, tmp_path: Path) -> SnsVerifier:
    return SnsVerifier(host_pattern=re.compile(r"^localhost$"), cafile=cafile, cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("version", ["1", "2"])
def test_genuine_sns_messages_verify(sns, tmp_path, version) -> None:
    keys, srv, ca = sns
    verifier(ca, tmp_path).verify(signed(keys, srv.port, version))


# (name, how the message is made, the error expected)
FORGERIES = [
    ("tampered message", lambda k, p: signed(k, p, Message=json.dumps(ses_bounce("attacker@example.org"))),
     "does not match"),
    ("signed with another key", lambda k, p: signed(k, p, key=k.other), "does not match"),
    ("version 2 claimed for a version 1 signature", lambda k, p: signed(k, p, "1", SignatureVersion="2"),
     "does not match"),
    ("certificate on another host", lambda k, p: signed(k, p, host="127.0.0.1"), "not on an SNS host"),
    ("certificate over http", lambda k, p: signed(k, p, scheme="http"), "not https"),
    ("unknown signature version", lambda k, p: signed(k, p, SignatureVersion="3"), "unsupported"),
    ("signature not base64", lambda k, p: signed(k, p, Signature="@@@"), "not base64"),
]


@pytest.mark.parametrize("name,make,error", FORGERIES, ids=[f[0] for f in FORGERIES])
def test_forged_sns_messages_are_rejected(sns, tmp_path, name, make, error) -> None:
    keys, srv, ca = sns
    with pytest.raises(SnsVerificationError, match=error):
        verifier(ca, tmp_path).verify(make(keys, srv.port))


def test_the_default_host_rule_rejects_anything_but_sns(sns, tmp_path) -> None:
    keys, srv, ca = sns
    with pytest.raises(SnsVerificationError, match="not on an SNS host"):
        SnsVerifier(cafile=ca, cache_dir=str(tmp_path)).verify(signed(keys, srv.port))


def test_certificates_are_cached(sns, tmp_path) -> None:
    keys, srv, ca = sns
    before = srv.fetches
    v = verifier(ca, tmp_path)
    for _ in range(3):
        v.verify(signed(keys, srv.port))
    assert srv.fetches == before + 1
    verifier(ca, tmp_path).verify(signed(keys, srv.port))  # a new process: from the disk cache
    assert srv.fetches == before + 1


def test_a_rejected_notification_is_never_recorded(sns, tmp_path) -> None:
    keys, srv, ca = sns
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(signed(keys, srv.port)))
    bad.write_text(json.dumps(signed(keys, srv.port, Message=json.dumps(ses_bounce("x@example.org")))))
    v = verifier(ca, tmp_path)
    out = list(classify_paths([str(good), str(bad)], check=lambda item: verify_item(item, v)))
    assert isinstance(out[1], Failure) and "does not match" in out[1].error
    assert not isinstance(out[0], Failure) and out[0][0].recipient == "signed@example.org"


def test_cli_verify_sns_rejects_with_a_clear_error(sns, tmp_path) -> None:
    keys, srv, _ca = sns
    path = tmp_path / "n.json"
    path.write_text(json.dumps(signed(keys, srv.port)))  # genuine, but its certificate is not on SNS
    p = subprocess.run([sys.executable, "-m", "bounce_classify", str(path), "--verify-sns", "--sink", "ledger",
                        "--ledger", str(tmp_path / "l.sqlite3")], capture_output=True, timeout=60)
    assert p.returncode == 1 and p.stdout == b""
    assert b"rejected by --verify-sns: the signing certificate is not on an SNS host" in p.stderr
    with open_ledger(str(tmp_path / "l.sqlite3")) as led:
        assert led.stats()["records"] == 0


# -- SQS and S3 on moto_server --------------------------------------------------------------------

def make_queue(name: str, max_receives: int | None = None) -> tuple[object, str, str | None]:
    sqs = boto3.client("sqs")
    dlq_url = None
    attrs = {}
    if max_receives:
        dlq_url = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    return sqs, url, dlq_url


def sns_wrap(inner: dict) -> str:
    return json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": json.dumps(inner),
                       "TopicArn": "arn:aws:sns:us-east-1:111122223333:ses", "Timestamp": "2026-03-02T09:14:10Z"})


def depth(sqs, url: str) -> int:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def test_worker_records_then_deletes(aws_env, tmp_path) -> None:
    sqs, url, _ = make_queue(f"q{uuid.uuid4().hex[:8]}")
    for i in range(12):
        body = sns_wrap(ses_bounce(f"u{i}@example.org")) if i % 2 else json.dumps(ses_bounce(f"u{i}@example.org"))
        sqs.send_message(QueueUrl=url, MessageBody=body)
    db = str(tmp_path / "l.sqlite3")
    w = Worker(sqs, url, [LedgerSink(db)], wait=1, visibility=30)
    counts = w.run(exit_when_empty=True)
    assert (counts.received, counts.recorded, counts.deleted, counts.failed) == (12, 12, 12, 0)
    assert depth(sqs, url) == 0
    with open_ledger(db) as led:
        assert led.stats()["records"] == 12


def test_worker_deletes_nothing_it_could_not_record(aws_env, tmp_path) -> None:
    class Broken:
        name = "broken"

        def write(self, results) -> None:
            raise OSError("disk full")

        def close(self) -> None:
            pass

    sqs, url, _ = make_queue(f"q{uuid.uuid4().hex[:8]}")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(ses_bounce("kept@example.org")))
    counts = Worker(sqs, url, [Broken()], wait=1, visibility=30).run(max_messages=1)
    assert (counts.failed, counts.deleted) == (1, 0)
    assert depth(sqs, url) == 1


def test_heartbeat_keeps_a_slow_message_hidden_until_it_is_recorded(aws_env, tmp_path) -> None:
    """A sink slower than the visibility timeout: the worker keeps extending the message's
    visibility, so another consumer polling meanwhile does not get it, and it is recorded once."""
    import threading
    import time

    seen_by_other: list[int] = []

    class Slow:
        name = "slow"

        def __init__(self) -> None:
            self.writes = 0

        def write(self, results) -> None:
            self.writes += 1
            time.sleep(2.5)  # past the 2 s visibility timeout, once
            other = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
            seen_by_other.append(len(other.get("Messages") or []))
            time.sleep(1.5)

        def close(self) -> None:
            pass

    sqs, url, _ = make_queue(f"q{uuid.uuid4().hex[:8]}")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(ses_bounce("slow@example.org")))
    sink = Slow()
    w = Worker(sqs, url, [sink], wait=1, visibility=2)
    runner = threading.Thread(target=lambda: w.run(max_messages=1))
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert seen_by_other == [0], "the message became visible to another consumer mid-write"
    assert (sink.writes, w.counts.recorded, w.counts.deleted) == (1, 1, 1)
    assert depth(sqs, url) == 0


def test_poison_messages_go_to_the_dead_letter_queue(aws_env, tmp_path) -> None:
    sqs, url, dlq = make_queue(f"q{uuid.uuid4().hex[:8]}", max_receives=2)
    poison = {"notificationType": "Received", "receipt": {"action": {
        "type": "S3", "bucketName": "no-such-bucket-here", "objectKey": "missing"}}, "mail": {}}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(poison))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(ses_bounce("fine@example.org")))
    db = str(tmp_path / "l.sqlite3")
    s3 = boto3.client("s3")
    deadline = time.monotonic() + 30
    while depth(sqs, url) and time.monotonic() < deadline:
        Worker(sqs, url, [LedgerSink(db)], s3=s3, wait=1, visibility=1).run(exit_when_empty=True)
        time.sleep(1.1)  # the failed message becomes visible again
    assert depth(sqs, url) == 0
    assert depth(sqs, dlq) == 1
    moved = sqs.receive_message(QueueUrl=dlq)["Messages"][0]
    assert json.loads(moved["Body"])["notificationType"] == "Received"
    with open_ledger(db) as led:
        assert [r["recipient"] for r in led.history("fine@example.org")["records"]] == ["fine@example.org"]


def test_receipt_rule_notifications_fetch_the_email_from_s3(aws_env, tmp_path) -> None:
    s3 = boto3.client("s3")
    bucket = f"b{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="inbound/abc", Body=(FIXTURES / "sendmail/user-unknown.eml").read_bytes())
    sqs, url, _ = make_queue(f"q{uuid.uuid4().hex[:8]}")
    note = {"notificationType": "Received", "mail": {"messageId": "abc"},
            "receipt": {"action": {"type": "S3", "bucketName": bucket, "objectKey": "inbound/abc"}}}
    sqs.send_message(QueueUrl=url, MessageBody=sns_wrap(note))
    db = str(tmp_path / "l.sqlite3")
    counts = Worker(sqs, url, [LedgerSink(db)], s3=s3, wait=1).run(exit_when_empty=True)
    assert counts.recorded == 1
    with open_ledger(db) as led:
        rec = led.history("applicant@jobs.example")["records"][0]
    assert rec["source"] == f"s3://{bucket}/inbound/abc" and rec["reason"] == "userunknown"


def _consume(url: str, endpoint: str, db: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bounce_classify", "ses", "consume", "--queue-url", url,
                             "--endpoint-url", endpoint, "--region", "us-east-1", "--ledger", db, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())


def test_kill_9_mid_batch_then_restart_records_each_exactly_once(aws_env, tmp_path) -> None:
    sqs, url, _ = make_queue(f"q{uuid.uuid4().hex[:8]}")
    n = 80
    for start in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": sns_wrap(ses_bounce(f"k{i}@example.org"))} for i in range(start, start + 10)])
    db = str(tmp_path / "l.sqlite3")

    def recorded() -> int:
        if not os.path.exists(db):
            return 0
        with open_ledger(db) as led:
            return int(led.stats()["records"])

    worker = _consume(url, aws_env, db, "--wait", "1", "--visibility-timeout", "2")
    deadline = time.monotonic() + 60
    while recorded() < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert 0 < recorded() < n, "the kill must land mid-run"
    deadline = time.monotonic() + 120
    while depth(sqs, url) and time.monotonic() < deadline:
        again = _consume(url, aws_env, db, "--wait", "1", "--visibility-timeout", "2", "--exit-when-empty")
        again.wait(timeout=120)
        time.sleep(0.5)
    assert depth(sqs, url) == 0
    with open_ledger(db) as led:
        assert led.stats()["records"] == n
        assert sorted(s.address for s in led.suppressions()) == sorted(f"k{i}@example.org" for i in range(n))


def test_sigterm_stops_the_worker_cleanly(aws_env, tmp_path) -> None:
    sqs, url, _ = make_queue(f"q{uuid.uuid4().hex[:8]}")
    worker = _consume(url, aws_env, str(tmp_path / "l.sqlite3"), "--wait", "20")
    time.sleep(3)  # in the long poll
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert b"received 0" in err and b"Traceback" not in err


def test_lambda_handler_reports_only_the_failed_records(aws_env, tmp_path, monkeypatch) -> None:
    import bounce_classify.aws.handler as lh

    s3 = boto3.client("s3")
    bucket = f"b{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="raw/1", Body=(FIXTURES / "postfix/mailbox-full-text.eml").read_bytes())
    monkeypatch.setattr(lh, "_s3", None)
    db = str(tmp_path / "l.sqlite3")
    monkeypatch.setenv("BOUNCE_CLASSIFY_LEDGER", db)
    monkeypatch.setenv("BOUNCE_CLASSIFY_SINK", f"ledger,jsonl:{tmp_path / 'out.jsonl'}")
    arn = "arn:aws:sqs:us-east-1:111122223333:ses-bounces"
    stored = {"notificationType": "Received",
              "receipt": {"action": {"type": "S3", "bucketName": bucket, "objectKey": "raw/1"}}}
    missing = {"notificationType": "Received",
               "receipt": {"action": {"type": "S3", "bucketName": bucket, "objectKey": "raw/missing"}}}
    event = {"Records": [
        {"messageId": "m1", "eventSourceARN": arn, "body": sns_wrap(ses_bounce("lam@example.org"))},
        {"messageId": "m2", "eventSourceARN": arn, "body": json.dumps(stored)},
        {"messageId": "m3", "eventSourceARN": arn, "body": json.dumps(missing)},
    ]}
    assert lambda_handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "m3"}]}
    assert lambda_handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "m3"}]}  # a retry
    with open_ledger(db) as led:
        assert led.stats()["records"] == 2
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2


def test_s3_prefix_input(aws_env, tmp_path) -> None:
    s3 = boto3.client("s3")
    bucket = f"b{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="bounces/a.eml", Body=(FIXTURES / "qmail/blocked.eml").read_bytes())
    s3.put_object(Bucket=bucket, Key="bounces/b.json", Body=(SES / "complaint.json").read_bytes())
    s3.put_object(Bucket=bucket, Key="other/c.eml", Body=b"not under the prefix")
    p = subprocess.run([sys.executable, "-m", "bounce_classify", f"s3://{bucket}/bounces/", "--format", "jsonl"],
                       capture_output=True, timeout=60, env=os.environ.copy())
    assert p.returncode == 0, p.stderr
    recs = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [(r["source"], r["kind"]) for r in recs] == [(f"s3://{bucket}/bounces/a.eml", "bounce"),
                                                         (f"s3://{bucket}/bounces/b.json", "feedback")]
    p = subprocess.run([sys.executable, "-m", "bounce_classify", "s3://no-such-bucket-anywhere/"],
                       capture_output=True, timeout=60, env=os.environ.copy())
    assert p.returncode == 1 and b"NoSuchBucket" in p.stderr and b"Traceback" not in p.stderr


# -- the SES v2 suppression list: botocore Stubber (moto does not serve this API) ---------------

def _ledger_with_suppressions(tmp_path: Path):
    led = open_ledger(str(tmp_path / "l.sqlite3"))
    from bounce_classify import classify

    led.record(classify((FIXTURES / "sendmail/user-unknown.eml").read_bytes()))
    led.record(classify((SES / "complaint.json").read_bytes()))
    return led


def test_suppression_sync_plans_then_applies(tmp_path) -> None:
    led = _ledger_with_suppressions(tmp_path)
    sups = list(led.suppressions())
    complainer = next(s.address for s in sups if s.cause == "complaint")
    sesv2 = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(sesv2) as stub:
        stub.add_response("list_suppressed_destinations", {"SuppressedDestinationSummaries": [
            {"EmailAddress": complainer, "Reason": "COMPLAINT", "LastUpdateTime": datetime.datetime(2026, 3, 1)}]},
            {"PageSize": 1000})
        planned = suppression.plan(sups, sesv2)
        assert {(p.address, p.reason, p.state) for p in planned} == {
            ("applicant@jobs.example", "BOUNCE", "add"), (complainer, "COMPLAINT", "present")}
        stub.add_response("put_suppressed_destination", {},
                          {"EmailAddress": "applicant@jobs.example", "Reason": "BOUNCE"})
        assert suppression.apply(planned, sesv2) == 1
        stub.assert_no_pending_responses()


def test_suppression_check(tmp_path) -> None:
    sesv2 = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(sesv2) as stub:
        stub.add_response("get_suppressed_destination", {"SuppressedDestination": {
            "EmailAddress": "gone@example.org", "Reason": "BOUNCE", "LastUpdateTime": datetime.datetime(2026, 3, 1),
            "Attributes": {"MessageId": "m-1", "FeedbackId": "f-1"}}}, {"EmailAddress": "gone@example.org"})
        stub.add_client_error("get_suppressed_destination", service_error_code="NotFoundException",
                              http_status_code=404, expected_params={"EmailAddress": "kept@example.org"})
        found = suppression.check("gone@example.org", sesv2)
        assert found is not None and (found["reason"], found["message_id"]) == ("BOUNCE", "m-1")
        assert suppression.check("kept@example.org", sesv2) is None
