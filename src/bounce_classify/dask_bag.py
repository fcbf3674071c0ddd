"""Classify archives on a Dask cluster: a bag of paths or S3 keys in, JSON Lines partitions out.

Needs the ``dask`` extra (``pip install 'bounce-classify[dask]'``, which brings dask and
distributed); S3 keys need the ``aws`` extra on the workers too.

    >>> from dask.distributed import Client            # doctest: +SKIP
    >>> from bounce_classify.dask_bag import classify_to_jsonl
    >>> client = Client("scheduler:8786")              # or Client() for a local cluster
    >>> classify_to_jsonl(["archive/2024.mbox", "s3://bounces/raw/2025/"], "out/")
    ['out/0.jsonl', 'out/1.jsonl']

Each source is whatever the command line takes: a message file, an mbox, a Maildir or
directory (walked on the worker, so it must be on storage the workers share), or an
``s3://bucket/prefix/`` URL.  Every worker runs the same plain function over bytes as
``bounce-classify`` itself; nothing is shared between tasks but the read-only rule set,
which each worker process builds once.

A message that cannot be classified does not fail the task: it becomes a line
``{"source": ..., "message": N, "error": ...}`` in the output, beside the records, so a
run over years of mail never loses one silently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

_RULES: dict[tuple[str, ...], Any] = {}


def _rules(rule_files: tuple[str, ...]) -> Any:
    if rule_files not in _RULES:
        from .rules import ruleset

        _RULES[rule_files] = ruleset(rule_files)
    return _RULES[rule_files]


def classify_source(source: str, rule_files: Sequence[str] = (),
                    original_headers: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every record of one source (a path or an S3 URL) as contract dicts; failures as error lines."""
    from .api import Failure, classify_paths

    out: list[dict[str, Any]] = []
    for item in classify_paths([source], rules=_rules(tuple(rule_files)), original_headers=original_headers):
        if isinstance(item, Failure):
            out.append({"source": item.source, "message": item.message, "error": item.error})
        else:
            out.extend(r.to_dict() for r in item)
    return out


def records_bag(sources: Any, rule_files: Sequence[str] = (), original_headers: Sequence[str] = (),
                npartitions: int | None = None) -> Any:
    """A Dask bag of records from a bag (or a list) of sources, one record per element."""
    import dask.bag as db

    if not isinstance(sources, db.Bag):
        sources = list(sources)
        sources = db.from_sequence(sources, npartitions=npartitions or max(1, min(len(sources), 64)))
    return sources.map(classify_source, tuple(rule_files), tuple(original_headers)).flatten()


def classify_to_jsonl(sources: Any, out_dir: str, rule_files: Sequence[str] = (),
                      original_headers: Sequence[str] = (), npartitions: int | None = None) -> list[str]:
    """Classify ``sources`` on the current Dask scheduler into ``out_dir/<partition>.jsonl``.

    Returns the file names written, one per partition, in partition order.  ``out_dir`` may be
    any location Dask writes to (a shared file system, or ``s3://`` with s3fs installed).
    """
    bag = records_bag(sources, rule_files, original_headers, npartitions)
    written = bag.map(json.dumps, ensure_ascii=False, sort_keys=False).to_textfiles(
        out_dir.rstrip("/") + "/*.jsonl", last_endline=True)
    return [str(w) for w in written]


__all__ = ["classify_source", "records_bag", "classify_to_jsonl"]
