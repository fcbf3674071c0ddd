"""What an SQS message body holds, turned into bytes to classify.

* an SNS envelope (``Type: Notification``) around SES JSON;
* SES JSON itself (raw message delivery);
* an SES receipt-rule notification (``notificationType: Received``) whose S3 action stored
  the raw email: the email is fetched from S3 and classified;
* an S3 event notification (``Records[].s3``) for raw emails put in a bucket.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True, slots=True)
class Unit:
    source: str
    data: bytes


Fetch = Callable[[str, str], bytes]  # (bucket, key) -> object bytes


def s3_objects(doc: Any) -> list[tuple[str, str]]:
    """The (bucket, key) pairs a notification points at, if it is about stored raw email."""
    if not isinstance(doc, dict):
        return []
    inner = doc
    if doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        try:
            inner = json.loads(doc["Message"])
        except ValueError:
            return []
    if not isinstance(inner, dict):
        return []
    if inner.get("notificationType") == "Received":
        action = (inner.get("receipt") or {}).get("action") or {}
        if action.get("type") == "S3" and action.get("bucketName") and action.get("objectKey"):
            return [(action["bucketName"], action["objectKey"])]
        return []
    out = []
    for rec in inner.get("Records") or []:
        s3 = rec.get("s3") if isinstance(rec, dict) else None
        if isinstance(s3, dict) and "bucket" in s3 and "object" in s3:
            out.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    return out


def units(body: str | bytes, source: str, fetch: Fetch | None) -> list[Unit]:
    """Bytes to classify for one queue message.  Raises on a body it cannot use."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    try:
        doc = json.loads(data)
    except ValueError:
        # not JSON: a raw email put on the queue directly
        return [Unit(source, data)]
    pointers = s3_objects(doc)
    if pointers:
        if fetch is None:
            raise ValueError("the notification points at S3 objects, and no S3 client is configured")
        return [Unit(f"s3://{b}/{k}", fetch(b, k)) for b, k in pointers]
    return [Unit(source, data)]
