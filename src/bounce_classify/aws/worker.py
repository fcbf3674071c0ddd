"""``ses consume``: a long-polling SQS worker for SES notifications.

At-least-once in, exactly-once in the ledger: a message is deleted from the queue only
after every sink has committed its records, and records are keyed by token, so a message
seen again after a crash is recorded once.  A message that fails is left on the queue; SQS
makes it visible again after the visibility timeout and, past the queue's maxReceiveCount,
moves it to the dead-letter queue.  The worker never deletes a message it did not record.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("bounce-classify.worker")


class Stop(Exception):
    """Raised inside a long poll when a stop signal arrives."""


@dataclass
class Counts:
    received: int = 0
    recorded: int = 0
    records: int = 0
    failed: int = 0
    deleted: int = 0
    released: int = 0


def region_of(queue_url: str) -> str | None:
    m = re.search(r"sqs[.-]([a-z]{2}-[a-z]+-\d)\.", queue_url)
    return m.group(1) if m else None


class Worker:
    def __init__(self, sqs: Any, queue_url: str, sinks: Sequence[Any], *, s3: Any = None, wait: int = 20,
                 batch: int = 10, visibility: int = 60,
                 on_progress: Callable[[Counts], None] | None = None) -> None:
        self.sqs, self.queue_url, self.sinks, self.s3 = sqs, queue_url, list(sinks), s3
        self.wait, self.batch, self.visibility = wait, batch, visibility
        self.on_progress = on_progress
        self.counts = Counts()
        self.stopping = False
        self._in_poll = False
        self._inflight: dict[str, str] = {}  # message id -> receipt handle
        self._lock = threading.Lock()
        self.queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]

    # -- signals ------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def handler(signum, frame):
            self.stopping = True
            log.info("signal %d: stopping after the message in hand", signum)
            if self._in_poll:
                raise Stop()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # -- the loop -----------------------------------------------------------------------
    def run(self, *, max_messages: int | None = None, exit_when_empty: bool = False) -> Counts:
        heart = threading.Thread(target=self._heartbeat, daemon=True)
        heart.start()
        try:
            while not self.stopping:
                if max_messages is not None and self.counts.received >= max_messages:
                    break
                want = self.batch if max_messages is None else min(self.batch, max_messages - self.counts.received)
                try:
                    self._in_poll = True
                    resp = self.sqs.receive_message(
                        QueueUrl=self.queue_url, MaxNumberOfMessages=max(1, want), WaitTimeSeconds=self.wait,
                        VisibilityTimeout=self.visibility, AttributeNames=["ApproximateReceiveCount"])
                except Stop:
                    break
                except Exception:
                    if self.stopping:  # the signal interrupted the HTTP call: nothing was received
                        break
                    raise
                finally:
                    self._in_poll = False
                messages = resp.get("Messages") or []
                if not messages:
                    if exit_when_empty:
                        break
                    continue
                self._handle_batch(messages)
        finally:
            self.stopping = True
            heart.join(timeout=2)
        return self.counts

    def _handle_batch(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            for m in messages:
                self._inflight[m["MessageId"]] = m["ReceiptHandle"]
        self.counts.received += len(messages)
        done: list[dict[str, Any]] = []
        for i, m in enumerate(messages):
            if self.stopping:
                self._release(messages[i:])
                break
            if self._process(m):
                done.append(m)
            else:
                with self._lock:
                    self._inflight.pop(m["MessageId"], None)  # left for a retry or the dead-letter queue
            self._progress()
        self._delete(done)
        self._progress()

    def _process(self, m: dict[str, Any]) -> bool:
        from ..api import classify
        from .bodies import units

        mid = m["MessageId"]
        try:
            results = []
            for u in units(m.get("Body", ""), f"sqs://{self.queue_name}/{mid}", self._fetch if self.s3 else None):
                results.extend(classify(u.data, source=u.source))
            for sink in self.sinks:
                sink.write(results)  # returns once committed (ledger) or fsync'd (jsonl)
        except Exception as exc:
            count = (m.get("Attributes") or {}).get("ApproximateReceiveCount", "?")
            log.error("message %s (receive #%s) failed, left on the queue: %s: %s", mid, count,
                      type(exc).__name__, exc)
            self.counts.failed += 1
            return False
        self.counts.recorded += 1
        self.counts.records += len(results)
        return True

    def _fetch(self, bucket: str, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def _delete(self, done: list[dict[str, Any]]) -> None:
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            resp = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)])
            self.counts.deleted += len(resp.get("Successful") or [])
            for f in resp.get("Failed") or []:
                log.warning("delete failed for entry %s: %s (it will be seen again and recorded once)",
                            f.get("Id"), f.get("Message"))
            with self._lock:
                for m in chunk:
                    self._inflight.pop(m["MessageId"], None)

    def _release(self, rest: list[dict[str, Any]]) -> None:
        """Give unprocessed messages back to the queue at once (visibility 0)."""
        for start in range(0, len(rest), 10):
            chunk = rest[start:start + 10]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for n, m in enumerate(chunk)])
                self.counts.released += len(chunk)
            except Exception as exc:  # they come back after the visibility timeout anyway
                log.warning("could not release %d messages: %s", len(chunk), exc)
            with self._lock:
                for m in chunk:
                    self._inflight.pop(m["MessageId"], None)

    def _heartbeat(self) -> None:
        """Extend the visibility of messages in hand, so a slow batch is not delivered twice."""
        period = max(1.0, self.visibility / 2)
        next_beat = time.monotonic() + period
        while not self.stopping:
            time.sleep(0.2)
            if time.monotonic() < next_beat:
                continue
            next_beat = time.monotonic() + period
            with self._lock:
                handles = list(self._inflight.values())
            for start in range(0, len(handles), 10):
                try:
                    self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                        {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": self.visibility}
                        for n, h in enumerate(handles[start:start + 10])])
                except Exception as exc:
                    log.warning("visibility extension failed: %s", exc)

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.counts)
