"""``bounce-classify s3://bucket/prefix/``: classify raw messages stored in S3 (for example by an
SES receipt rule's S3 action).  Objects are listed first, so a progress bar knows the total,
then fetched and read one at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..read import Item, ReadError, from_stream


def parse_url(url: str) -> tuple[str, str]:
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"not an S3 URL: {url!r} (use s3://bucket/prefix/)")
    return bucket, prefix


def s3_items(url: str, client: Any = None, on_total: Callable[[int], None] | None = None,
             on_object: Callable[[], None] | None = None) -> Iterator[Item | ReadError]:
    try:
        bucket, prefix = parse_url(url)
    except ValueError as exc:
        yield ReadError(url, str(exc))
        return
    try:
        if client is None:
            import boto3

            client = boto3.client("s3")
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents") or [] if not o["Key"].endswith("/"))
    except Exception as exc:  # no credentials, no bucket, access denied: one clear line
        yield ReadError(url, _explain(exc))
        return
    if on_total is not None:
        on_total(len(keys))
    for key in keys:
        source = f"s3://{bucket}/{key}"
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            yield from from_stream(source, body)
        except Exception as exc:
            yield ReadError(source, _explain(exc))
        if on_object is not None:
            on_object()


def _explain(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"S3 {err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"
