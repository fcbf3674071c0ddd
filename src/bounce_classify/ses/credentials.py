"""SES SMTP credentials: the password AWS derives from an IAM secret access key.

SES SMTP passwords are not stored anywhere: they are a keyed hash of the IAM user's secret
access key, per region (SigV4-style, AWS's documented "version 4" SMTP credentials).  Rotating
the IAM key therefore breaks every client and "Send mail as" alias that still holds the old
password, which is the failure this project was born from.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = b"\x04"
_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SES SMTP password for ``region`` derived from an IAM secret access key."""
    if not secret_access_key or secret_access_key != secret_access_key.strip():
        raise ValueError("the secret access key is empty or has surrounding whitespace")
    if not _REGION.match(region):
        raise ValueError(f"{region!r} is not an AWS region name (for example us-east-1)")
    signature = _sign(("AWS4" + secret_access_key).encode("utf-8"), _DATE)
    for part in (region, _SERVICE, _TERMINAL, _MESSAGE):
        signature = _sign(signature, part)
    return base64.b64encode(_VERSION + signature).decode("ascii")


def smtp_endpoint(region: str) -> str:
    return f"email-smtp.{region}.amazonaws.com"


def password_version(password: str) -> str | None:
    """"v4" or "v2" (legacy, region-less) for a 44-character SES SMTP password, else None."""
    if len(password) != 44:
        return None
    return {"B": "v4", "A": "v2"}.get(password[:1])
