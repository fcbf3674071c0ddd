"""A small, lenient, lazy MIME reader built for bounces.

The standard library's parser builds every part of every message up front; for
bounces we usually need the top-level headers and one or two parts.  This
reader normalises line ends once, splits headers from the body, and parses a
part's children only when asked.  It never raises on malformed input and caps
nesting depth and part counts so hostile messages stay cheap.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Iterator
from functools import cached_property

from .lazyre import lazy_re

MAX_DEPTH = 12
MAX_PARTS = 200
MAX_HEADER_LINES = 2000
# The readable text the decoders scan is the first 256 Ki characters of a report's text: the failure
# is in a report's first lines, and what may follow (a pasted original, padding) would only cost
# line-by-line work on hostile input.
MAX_TEXT = 256 * 1024

_ENCODED_WORD = lazy_re(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_ENCODED_GAP = lazy_re(r"(\?=)\s+(=\?)")
_PARAM = lazy_re(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)', re.S)


def normalise_newlines(raw: bytes) -> bytes:
    """LF, CRLF and CR-only line ends all become LF."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


# ISO-2022-JP whose escape bytes were stripped on the way (a 7-bit path that drops control
# characters): "$B...(B" runs of two-byte JIS characters with the ESC before "$B" and "(B" gone.
_STRIPPED_JIS = lazy_re(rb"\$([B@])((?:[\x21-\x7e][\x21-\x7e])+?)\(([BJ])")


def _restore_jis(m: re.Match[bytes]) -> bytes:
    return b"\x1b$" + m.group(1) + m.group(2) + b"\x1b(" + m.group(3)


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode leniently: the declared charset, else UTF-8, else Latin-1.

    Japanese mail often carries ISO-2022-JP without saying so; its escape sequences give it away.
    """
    if (b"$B" in data or b"$@" in data) and b"\x1b" not in data:
        data = _STRIPPED_JIS.sub(_restore_jis, data)
    if (not charset or charset.strip().strip('"').lower() in ("us-ascii", "ascii")) and (
            b"\x1b$B" in data or b"\x1b$@" in data):
        charset = "iso-2022-jp"
    if charset:
        cs = charset.strip().strip('"').lower()
        if cs in ("us-ascii", "ascii", "ansi_x3.4-1968"):
            cs = "utf-8"
        elif cs in ("iso-2022-jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3"):
            cs = "iso2022_jp_ext" if cs == "iso-2022-jp" else cs.replace("-", "_")
            if b"\x1b" not in data and not data.isascii():
                # a 7-bit charset declared over 8-bit text: the text was re-encoded on the way
                # (a converted copy), most often to UTF-8, and its label left as it was
                cs = "utf-8"
        try:
            codecs.lookup(cs)
        except (LookupError, ValueError):  # unknown, or not a name at all (NUL bytes)
            cs = ""
        if cs:
            try:
                return data.decode(cs)
            except (UnicodeDecodeError, LookupError):
                try:
                    return data.decode(cs, errors="replace")
                except LookupError:
                    pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if b"\x1b$" in data:
            try:
                return data.decode("iso2022_jp_ext")
            except UnicodeDecodeError:
                pass
        return data.decode("latin-1")


def _decode_word(m: re.Match[str]) -> str:
    charset, enc, payload = m.group(1), m.group(2).lower(), m.group(3)
    charset = charset.split("*", 1)[0]
    try:
        if enc == "b":
            payload += "=" * (-len(payload) % 4)
            data = binascii.a2b_base64(payload.encode("ascii", "ignore"))
        else:
            data = binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "ignore"))
    except (binascii.Error, ValueError):
        return m.group(0)
    return decode_bytes(data, charset)


def decode_header_value(value: str) -> str:
    """Decode RFC 2047 encoded words; leave anything malformed as it is."""
    if "=?" not in value:
        return value
    value = _ENCODED_GAP.sub(r"\1\2", value)
    return _ENCODED_WORD.sub(_decode_word, value)


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type-like value into its lower-cased token and params."""
    main, _, rest = value.partition(";")
    main = main.strip()
    if " " in main or "\t" in main:
        # "text/plain charset=..." with the semicolon missing
        main, _, extra = main.partition(" ") if " " in main else main.partition("\t")
        rest = extra + ";" + rest
    params: dict[str, str] = {}
    if rest:
        for m in _PARAM.finditer(";" + rest):
            v = m.group(2)
            if v.startswith('"') and v.endswith('"') and len(v) >= 2:
                v = v[1:-1].replace('\\"', '"')
            params[m.group(1).lower()] = v
    return main.strip().lower(), params


class Headers:
    """Ordered header fields with case-insensitive lookup."""

    __slots__ = ("fields", "_index")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        index: dict[str, list[str]] = {}
        for name, value in fields:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._index.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return self._index.get(name.lower(), [])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def names(self) -> set[str]:
        return set(self._index)

    def decoded(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None else decode_header_value(value).strip()


def parse_headers(block: bytes) -> Headers:
    """Parse a header block (LF line ends).  Lines that are not headers are skipped.

    Folded lines are joined with one space.  A block that is plain ASCII (the usual case) is
    decoded once and split by one pattern; otherwise each value is decoded on its own, so one
    field in a stray charset does not change how the others read.
    """
    if block.count(b"\n") >= MAX_HEADER_LINES:
        cut = -1
        for _ in range(MAX_HEADER_LINES):
            cut = block.find(b"\n", cut + 1)
        block = block[:cut]
    if block.isascii() and b"\x1b" not in block and b"$B" not in block and b"$@" not in block:
        return Headers([(name, _join_text(value))
                        for name, value in _FIELD_TEXT.findall(block.decode("ascii"))])
    return Headers([(name.decode("ascii", "replace"), _join_value(value))
                    for name, value in _FIELD_BYTES.findall(block)])


_FIELD_TEXT = lazy_re(r"^([!-9;-~]+)[ \t]*:(.*(?:\n[ \t].*)*)", re.M)
_FIELD_BYTES = lazy_re(rb"^([!-9;-~]+)[ \t]*:(.*(?:\n[ \t].*)*)", re.M)


def _join_text(value: str) -> str:
    if "\n" not in value:
        return value.strip()
    return " ".join(p.strip() for p in value.split("\n"))


def _join_value(value: bytes) -> str:
    joined = b" ".join(p.strip() for p in value.split(b"\n")) if b"\n" in value else value.strip()
    return decode_bytes(joined)


def split_header_body(data: bytes) -> tuple[bytes, bytes]:
    """Split at the first empty line.  A body that starts at once has no headers."""
    if data.startswith(b"\n"):
        return b"", data[1:]
    idx = data.find(b"\n\n")
    if idx < 0:
        return data, b""
    return data[:idx], data[idx + 2:]


_NOT_BASE64 = lazy_re(rb"[^A-Za-z0-9+/=]")
_STRAY_BOUNDARY = lazy_re(rb"\n--([^\s-][^\s]{5,69})[ \t]*\n(?=[A-Za-z-]+:)")


class Part:
    """One MIME entity.  Children and decoded text are computed on first use."""

    def __init__(self, data: bytes, depth: int = 0, counter: list[int] | None = None,
                 default_type: str = "text/plain") -> None:
        head, body = split_header_body(data)
        self.headers = parse_headers(head)
        self.body = body
        self.depth = depth
        self._counter = counter if counter is not None else [0]
        ctype = self.headers.get("content-type")
        if ctype:
            self.content_type, self.params = parse_params(decode_header_value(ctype))
            if "/" not in self.content_type:
                self.content_type = default_type
        else:
            self.content_type, self.params = default_type, {}

    @property
    def maintype(self) -> str:
        return self.content_type.split("/", 1)[0]

    @property
    def is_multipart(self) -> bool:
        return self.maintype == "multipart" and bool(self.params.get("boundary"))

    @cached_property
    def parts(self) -> list[Part]:
        """The direct children of a multipart entity (empty otherwise)."""
        if not self.is_multipart or self.depth >= MAX_DEPTH:
            return []
        boundary = b"--" + self.params["boundary"].encode("utf-8", "replace")
        body = b"\n" + self.body
        delim = b"\n" + boundary
        pieces: list[bytes] = []
        pos = body.find(delim)
        if pos < 0:
            # a boundary parameter that does not match the body (seen in hand-edited and some
            # relayed bounces): use the first delimiter-looking line followed by a header line
            m = _STRAY_BOUNDARY.search(body, 0, 65536)
            if m is None:
                return []
            delim = b"\n--" + m.group(1)
            pos = m.start()
        child_default = "message/rfc822" if self.content_type == "multipart/digest" else "text/plain"
        while pos >= 0 and len(pieces) < MAX_PARTS and self._counter[0] < MAX_PARTS * 5:
            start = pos + len(delim)
            if body[start:start + 2] == b"--":
                break
            line_end = body.find(b"\n", start)
            if line_end < 0:
                break
            nxt = body.find(delim, line_end)
            chunk = body[line_end + 1: nxt if nxt >= 0 else len(body)]
            pieces.append(chunk)
            self._counter[0] += 1
            pos = nxt
        return [Part(p, self.depth + 1, self._counter, child_default) for p in pieces]

    def walk(self) -> Iterator[Part]:
        """This part and every descendant, depth first (message/rfc822 not entered)."""
        stack = [self]
        while stack:
            part = stack.pop()
            yield part
            stack.extend(reversed(part.parts))

    @cached_property
    def payload(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone."""
        cte = (self.headers.get("content-transfer-encoding") or "").strip().lower()
        body = self.body
        try:
            if cte == "base64":
                cleaned = _NOT_BASE64.sub(b"", body)
                cleaned = cleaned.split(b"=", 1)[0]
                cleaned += b"=" * (-len(cleaned) % 4)
                if len(cleaned) % 4 == 1:
                    cleaned = cleaned[:-1]
                return binascii.a2b_base64(cleaned)
            if cte == "quoted-printable":
                return binascii.a2b_qp(body)
        except (binascii.Error, ValueError):
            return body
        return body

    @cached_property
    def text(self) -> str:
        """The decoded payload as text, in its declared charset."""
        return decode_bytes(self.payload, self.params.get("charset"))

    @cached_property
    def message(self) -> Part | None:
        """For message/rfc822 (or headers-only) parts: the enclosed message."""
        if self.depth >= MAX_DEPTH:
            return None
        if self.content_type in ("message/rfc822", "message/global", "text/rfc822-headers",
                                 "message/rfc822-headers", "message/global-headers",
                                 "message/partial"):
            data = self.payload.lstrip(b"\n")
            if data:
                return Part(data, self.depth + 1, self._counter)
        return None

    def find(self, *types: str) -> Part | None:
        for part in self.walk():
            if part.content_type in types:
                return part
        return None

    def find_all(self, *types: str) -> list[Part]:
        return [p for p in self.walk() if p.content_type in types]


class Message(Part):
    """A whole message read from bytes."""

    def __init__(self, raw: bytes) -> None:
        data = normalise_newlines(raw)
        if data.startswith(b"From ") and b"\n" in data[:1000]:
            # an mbox "From " separator line left on a single message
            first, _, rest = data.partition(b"\n")
            if not _FIELD_BYTES.match(first):
                data = rest
        self.raw = data
        super().__init__(data)

    @cached_property
    def plain_text(self) -> str:
        """The human-readable text of the report: first text parts, no attachments."""
        return "\n".join(p.text[:MAX_TEXT] for p in self.text_parts())[:MAX_TEXT]

    def text_parts(self) -> list[Part]:
        """Text parts outside any returned message, plain text preferred over HTML."""
        if not self.is_multipart:
            if self.maintype in ("text", "message") or not self.headers.get("content-type"):
                return [self]
            return []
        if not self.parts:
            # a multipart whose body has no delimiter lines at all: read the body as text
            return [self]
        out: list[Part] = []
        html: list[Part] = []
        for part in self.walk():
            if part.content_type == "text/plain" and not _is_attachment(part):
                out.append(part)
            elif part.content_type == "text/html" and not _is_attachment(part):
                html.append(part)
        return out or html


def _is_attachment(part: Part) -> bool:
    disp = (part.headers.get("content-disposition") or "").lower()
    return disp.startswith("attachment") and "name" in disp and not part.content_type.startswith("text/plain")
