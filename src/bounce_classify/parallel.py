"""``--jobs N``: classify in worker processes, keeping input order and bounded memory.

The parent reads (streams) the input and hands chunks of messages to the workers; at most
``jobs * 4`` chunks are in flight, so memory stays flat on an archive of any size, and
results come back in input order.  The classification itself is the same plain function
over bytes as everywhere else.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

from .api import Failure, classify_item
from .model import Result
from .read import Item, ReadError, iter_items

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from concurrent.futures import Future
    from typing import Any, BinaryIO

CHUNK_MESSAGES = 32
CHUNK_BYTES = 4 * 1024 * 1024

_rules: Any = None
_headers: Sequence[str] = ()


def _init(rule_files: Sequence[str], original_headers: Sequence[str]) -> None:
    global _rules, _headers
    from .rules import ruleset

    _rules = ruleset(rule_files)
    _headers = tuple(original_headers)


def _work(chunk: list[Item]) -> list[list[Result] | Failure]:
    out: list[list[Result] | Failure] = []
    for item in chunk:
        try:
            out.append(classify_item(item, _rules, _headers))
        except Exception as exc:  # one bad message never stops the run
            out.append(Failure(item.source, item.index, f"{type(exc).__name__}: {exc}"))
    return out


def default_jobs(paths: Sequence[str]) -> int:
    """All cores for bulk input (directories, several files, a large file); one otherwise."""
    bulk = len(paths) > 1 or any(
        p.startswith("s3://") or os.path.isdir(p) or (os.path.isfile(p) and os.path.getsize(p) > 1 << 20)
        for p in paths)
    return (os.cpu_count() or 1) if bulk else 1


def _chunks(items: Iterable[Item | ReadError]) -> Iterator[list[Item] | ReadError]:
    chunk: list[Item] = []
    size = 0
    for item in items:
        if isinstance(item, ReadError):
            if chunk:
                yield chunk
                chunk, size = [], 0
            yield item
            continue
        chunk.append(item)
        size += len(item.data)
        if len(chunk) >= CHUNK_MESSAGES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def classify_paths_parallel(paths: Sequence[str], jobs: int, *, stdin: BinaryIO | None = None,
                            rule_files: Sequence[str] = (), original_headers: Sequence[str] = (),
                            s3_progress: Any = None) -> Iterator[list[Result] | Failure]:
    """Like ``api.classify_paths``, in ``jobs`` processes; same results, same order."""
    # loaded here, not at start-up: a one-message run never needs them
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    window = max(2, jobs * 4)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init,
                             initargs=(tuple(rule_files), tuple(original_headers))) as pool:
        pending: deque[Future | ReadError] = deque()
        for chunk in _chunks(iter_items(paths, stdin, s3_progress)):
            pending.append(chunk if isinstance(chunk, ReadError) else pool.submit(_work, chunk))
            while len(pending) >= window:
                yield from _drain(pending.popleft())
        while pending:
            yield from _drain(pending.popleft())


def _drain(entry: Future | ReadError) -> Iterator[list[Result] | Failure]:
    if isinstance(entry, ReadError):
        yield Failure(entry.source, 0, entry.message)
        return
    yield from entry.result()
