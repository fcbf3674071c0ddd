"""The read layer: turn what the user names into a stream of raw messages.

Single files, mbox files (by content, not name), Maildir folders, plain
directories (walked recursively), standard input, and JSON documents or JSON
Lines, each also gzip-, bzip2- or xz-compressed.  Everything is read as bytes;
mbox files are streamed message by message so memory does not grow with the
archive.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator

from ..lazyre import lazy_re
from ..model import FrozenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a start-up 2 ms; these names are for annotations only
    from typing import Any, BinaryIO

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_MBOX_FROM = lazy_re(rb"^From \S+.{0,200}\d\d:\d\d", re.S)
# A separator with the full asctime date ("From sender Thu Jul  2 12:05:05 2020"): some mbox
# writers put it straight after the previous message's last line, with no blank line.
_MBOX_FROM_EXACT = lazy_re(rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|"
                              rb"Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d(?: [A-Z]{3,4})? \d{4}\s*$")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class Item(FrozenRecord):
    """One message (or JSON document) to classify; ``form`` is mime, json or msg."""

    __slots__ = ("source", "index", "data", "form")
    source: str
    index: int
    data: bytes
    form: str

    def __init__(self, source: str, index: int, data: bytes, form: str = "mime") -> None:
        self._set(source=source, index=index, data=data, form=form)


class ReadError(FrozenRecord):
    """A path that could not be read; the rest goes on."""

    __slots__ = ("source", "message")
    source: str
    message: str

    def __init__(self, source: str, message: str) -> None:
        self._set(source=source, message=message)


def iter_items(paths: Iterable[str], stdin: BinaryIO | None = None,
               s3_progress: Any = None) -> Iterator[Item | ReadError]:
    """Every message under ``paths``.  ``s3://bucket/prefix/`` paths are listed in S3 (boto3 is
    imported only then); ``s3_progress`` may be a (on_total, on_object) pair of callbacks."""
    names = list(paths) or ["-"]
    for name in names:
        if name.startswith("s3://"):
            from ..aws.s3 import s3_items

            on_total, on_object = s3_progress or (None, None)
            yield from s3_items(name, on_total=on_total, on_object=on_object)
            continue
        if name == "-":
            if stdin is None:
                yield ReadError("-", "no standard input")
                continue
            yield from _from_stream("-", stdin)
            continue
        if os.path.isdir(name):
            yield from _from_dir(name)
        elif os.path.exists(name):
            yield from _from_file(name)
        else:
            yield ReadError(name, "no such file or directory")


def _from_dir(path: str) -> Iterator[Item | ReadError]:
    if os.path.isdir(os.path.join(path, "cur")) or os.path.isdir(os.path.join(path, "new")):
        yield from _from_maildir(path)
        return
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        yield ReadError(path, exc.strerror or str(exc))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        full = os.path.join(path, entry.name)
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _from_dir(full)
            elif entry.is_file():
                yield from _from_file(full)
        except OSError as exc:
            yield ReadError(full, exc.strerror or str(exc))


def _from_maildir(path: str) -> Iterator[Item | ReadError]:
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        try:
            names = sorted(n for n in os.listdir(d) if not n.startswith("."))
        except OSError as exc:
            yield ReadError(d, exc.strerror or str(exc))
            continue
        for n in names:
            full = os.path.join(d, n)
            if os.path.isfile(full):
                yield from _from_file(full, single=True)
    # Maildir++ sub-folders (.Folder/cur, .Folder/new)
    try:
        subs = sorted(e.name for e in os.scandir(path) if e.name.startswith(".") and e.is_dir())
    except OSError:
        subs = []
    for s in subs:
        sp = os.path.join(path, s)
        if os.path.isdir(os.path.join(sp, "cur")) or os.path.isdir(os.path.join(sp, "new")):
            yield from _from_maildir(sp)


def _from_file(path: str, single: bool = False) -> Iterator[Item | ReadError]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, streamed for mbox
    except OSError as exc:
        yield ReadError(path, exc.strerror or str(exc))
        return
    with fh:
        try:
            yield from _from_stream(path, fh, single=single)
        except OSError as exc:
            yield ReadError(path, exc.strerror or str(exc))


def from_stream(source: str, fh: BinaryIO, single: bool = False) -> Iterator[Item | ReadError]:
    """The messages in one byte stream: a message, an mbox, JSON documents or an Outlook .msg."""
    return _from_stream(source, fh, single)


# Compressed input, known by its first bytes: gzip, bzip2 and xz are read through the standard
# library as they stream (a rotated mbox.gz, a Dovecot Maildir with compressed files, an S3
# archive of .eml.gz); formats it cannot read get a clear error instead of a not-bounce.
_BZIP2_BLOCK = b"1AY&SY"
_EMPTY_BZIP2 = b"\x17rE8P\x90"
_UNREADABLE = ((b"\x28\xb5\x2f\xfd", "zstd-compressed: decompress it first (zstd -d)"),
               (b"PK\x03\x04", "a ZIP archive: unpack it first"),
               (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive: unpack it first"))


def _compression(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh") and head[4:10] in (_BZIP2_BLOCK, _EMPTY_BZIP2):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return None


class _Prefixed:
    """A byte stream that gives back the bytes already peeked, then the rest of the stream."""

    def __init__(self, head: bytes, fh: BinaryIO) -> None:
        self._head = head
        self._fh = fh

    def read(self, n: int = -1) -> bytes:
        if not self._head:
            return self._fh.read(n) or b""
        if n is None or n < 0:
            data, self._head = self._head + (self._fh.read() or b""), b""
            return data
        data, self._head = self._head[:n], self._head[n:]
        return data


def _decompressed(source: str, fh: BinaryIO, head: bytes, kind: str,
                  single: bool) -> Iterator[Item | ReadError]:
    raw: Any = _Prefixed(head, fh)
    damaged: tuple[type[Exception], ...] = (OSError, EOFError)  # bad data, or data cut short
    if kind == "gzip":
        import gzip
        import zlib

        inner: Any = gzip.GzipFile(fileobj=raw, mode="rb")
        damaged += (zlib.error,)
    elif kind == "bzip2":
        import bz2

        inner = bz2.BZ2File(raw, mode="rb")
    else:
        import lzma

        inner = lzma.LZMAFile(raw, mode="rb")
        damaged += (lzma.LZMAError,)
    try:
        yield from _from_stream(source, inner, single, compressed=True)
    except damaged as exc:
        yield ReadError(source, f"damaged {kind} data: {exc or type(exc).__name__}")


def _from_stream(source: str, fh: BinaryIO, single: bool = False,
                 compressed: bool = False) -> Iterator[Item | ReadError]:
    head = _peek(fh, 4096)
    kind = _compression(head)
    if kind is not None:
        if compressed:  # one layer is what archives use; more is a bomb's shape
            yield ReadError(source, f"{kind} data inside compressed data: decompress it first")
        else:
            yield from _decompressed(source, fh, head, kind, single)
        return
    for magic, message in _UNREADABLE:
        if head.startswith(magic):
            yield ReadError(source, message)
            return
    if head.startswith(OLE_MAGIC):
        yield Item(source, 1, _read_all(fh, head), "msg")
        return
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        data = _read_all(fh, head)
        yield from json_items(source, data)
        return
    if not single and _MBOX_FROM.match(head):
        # CR-only line ends (classic Mac OS) split on CR; still streamed, nothing is cut
        sep = b"\r" if b"\n" not in head and b"\r" in head else b"\n"
        yield from _mbox_items(source, fh, head, sep)
        return
    yield Item(source, 1, _read_all(fh, head))


def _peek(fh: BinaryIO, n: int) -> bytes:
    return fh.read(n) or b""


def _read_all(fh: BinaryIO, head: bytes) -> bytes:
    rest = fh.read(MAX_MESSAGE_BYTES)
    return head + (rest or b"")


def _mbox_items(source: str, fh: BinaryIO, head: bytes, sep: bytes = b"\n") -> Iterator[Item]:
    """Split an mbox at "From " lines that follow a blank line (or start the file).

    A "From " line with the exact asctime date is a separator even without the blank line.
    """
    index = 0
    lines: list[bytes] = []
    size = 0
    prev_blank = True
    for line in _lines(fh, head, sep):
        if line.startswith(b"From ") and (_MBOX_FROM.match(line) if prev_blank else _MBOX_FROM_EXACT.match(line)):
            if lines:
                index += 1
                yield Item(source, index, b"".join(lines))
            lines, size = [], 0
            prev_blank = False
            continue
        if size < MAX_MESSAGE_BYTES:
            if line.startswith(b">From "):
                line = line[1:]
            lines.append(line)
            size += len(line)
        prev_blank = line in (b"\n", b"\r\n", b"\r")
    if lines or index == 0:
        index += 1
        yield Item(source, index, b"".join(lines))


# A line longer than this (a base64 blob written without line breaks) is passed on in pieces of
# this size, so the buffer, and the time spent re-searching it, stay bounded however long it is.
_LINE_PIECE = 1 << 18


def _lines(fh: BinaryIO, head: bytes, sep: bytes = b"\n") -> Iterator[bytes]:
    buf = head
    while True:
        start = 0
        nl = buf.find(sep)
        while nl >= 0:
            yield buf[start: nl + 1]
            start = nl + 1
            nl = buf.find(sep, start)
        buf = buf[start:]
        if len(buf) >= _LINE_PIECE:
            yield buf
            buf = b""
        chunk = fh.read(1 << 16)
        if not chunk:
            break
        buf += chunk
    if buf:
        yield buf


def json_items(source: str, data: bytes) -> Iterator[Item]:
    """One item per JSON document: a single document, an array, or JSON Lines."""
    text = data.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        index = 0
        for line in text.splitlines():
            if line.strip():
                index += 1
                yield Item(source, index, line.encode("utf-8"), "json")
        if index == 0:
            yield Item(source, 1, data, "json")
        return
    if isinstance(doc, list):
        for i, d in enumerate(doc, 1):
            yield Item(source, i, json.dumps(d).encode("utf-8"), "json")
        if not doc:
            yield Item(source, 1, data, "json")
    else:
        yield Item(source, 1, data, "json")
