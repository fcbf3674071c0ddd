"""``bounce_classify.aws.lambda_handler``: an AWS Lambda handler for an SQS event source
(set the function's handler to ``bounce_classify.aws.lambda_handler``).

Configure it with environment variables:

* ``BOUNCE_CLASSIFY_SINK``: comma-separated sinks, ``ledger`` (default) or ``jsonl:PATH``;
* ``BOUNCE_CLASSIFY_LEDGER``: the ledger, usually a ``postgresql://`` URL from Lambda.

Enable "Report batch item failures" on the event source mapping: the handler returns
``batchItemFailures`` naming the records it could not classify or record, so only those
are retried (and, past maxReceiveCount, go to the dead-letter queue).
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("bounce-classify.lambda")

_s3: Any = None


def _fetch(bucket: str, key: str) -> bytes:
    global _s3
    if _s3 is None:
        import boto3

        _s3 = boto3.client("s3")
    return bytes(_s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from ..api import classify
    from ..sinks import make_sink
    from .bodies import units

    specs = [s.strip() for s in os.environ.get("BOUNCE_CLASSIFY_SINK", "ledger").split(",") if s.strip()]
    sinks = [make_sink(s, os.environ.get("BOUNCE_CLASSIFY_LEDGER")) for s in specs]
    failures = []
    try:
        for record in event.get("Records") or []:
            mid = record.get("messageId", "")
            queue = (record.get("eventSourceARN") or "sqs").rsplit(":", 1)[-1]
            try:
                results = []
                for u in units(record.get("body", ""), f"sqs://{queue}/{mid}", _fetch):
                    results.extend(classify(u.data, source=u.source))
                for sink in sinks:
                    sink.write(results)
            except Exception as exc:  # this record is retried; the others are done
                log.error("record %s failed: %s: %s", mid, type(exc).__name__, exc)
                failures.append({"itemIdentifier": mid})
    finally:
        for sink in sinks:
            sink.close()
    return {"batchItemFailures": failures}
