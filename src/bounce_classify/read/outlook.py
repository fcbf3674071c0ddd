"""Outlook .msg files (OLE compound documents), as users save NDRs from Outlook.

mail-parser converts them with the ``msgconvert`` tool (Debian's libemail-outlook-message-perl);
the result is the RFC 5322 message the rest of the pipeline reads.  Imported only when a .msg
file is met, so mail-parser costs nothing on the hot path.
"""

from __future__ import annotations

import os
import shutil
import tempfile


class OutlookError(ValueError):
    """A .msg file could not be converted; the message says what to install or what failed."""


def msg_to_mime(data: bytes) -> bytes:
    """The RFC 5322 bytes of an Outlook .msg document."""
    try:
        from mailparser.exceptions import MailParserOSError
        from mailparser.utils import msgconvert
    except ImportError as exc:  # pragma: no cover - mail-parser is a declared dependency
        raise OutlookError(f"reading Outlook .msg files needs mail-parser: {exc}") from exc
    fd, path = tempfile.mkstemp(suffix=".msg")
    converted: str | None = None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            converted, _ = msgconvert(path)
        except MailParserOSError as exc:
            if shutil.which("msgconvert") is None:
                raise OutlookError("reading Outlook .msg files needs the msgconvert tool "
                                   "(Debian/Ubuntu: apt-get install libemail-outlook-message-perl)") from exc
            # mail-parser gives up on a conversion that runs too long (a damaged or hostile file)
            raise OutlookError(f"msgconvert failed on this .msg file: {exc}") from exc
        with open(converted, "rb") as out:
            mime = out.read()
        if not mime.strip():
            raise OutlookError("msgconvert produced no message: the .msg file may be damaged")
        return mime
    finally:
        for p in (path, converted):
            if p and os.path.exists(p):
                os.remove(p)
