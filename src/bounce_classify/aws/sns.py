"""SNS message signature verification (signature versions 1 and 2).

The signing certificate must come over HTTPS from an ``sns.<region>.amazonaws.com`` host;
certificates are cached in memory and on disk.  Tests (and only tests) may pass another
host pattern and a CA file for a local HTTPS server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import ssl
import urllib.request
from typing import Any
from urllib.parse import urlsplit

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")

_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


class SnsVerificationError(Exception):
    """The message is not a genuine SNS message (forged, tampered, wrong certificate host)."""


def is_sns_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and "Signature" in doc and "Type" in doc and "TopicArn" in doc


def string_to_sign(doc: dict[str, Any]) -> bytes:
    kind = doc.get("Type")
    keys = _NOTIFICATION_KEYS if kind == "Notification" else _CONFIRMATION_KEYS \
        if kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation") else None
    if keys is None:
        raise SnsVerificationError(f"unknown SNS message type {kind!r}")
    out = []
    for key in keys:
        if key == "Subject" and doc.get("Subject") is None:
            continue  # only when present
        value = doc.get(key)
        if value is None:
            raise SnsVerificationError(f"SNS message lacks {key}")
        out.append(f"{key}\n{value}\n")
    return "".join(out).encode("utf-8")


class SnsVerifier:
    def __init__(self, *, host_pattern: re.Pattern[str] = SNS_HOST, cafile: str | None = None,
                 cache_dir: str | None = None, timeout: float = 10.0) -> None:
        self.host_pattern = host_pattern
        self.cafile = cafile
        self.timeout = timeout
        self.cache_dir = cache_dir if cache_dir is not None else _default_cache()
        self._certs: dict[str, Any] = {}

    def verify(self, doc: dict[str, Any]) -> None:
        """Raise SnsVerificationError unless ``doc`` is a genuine, untampered SNS message."""
        version = str(doc.get("SignatureVersion", ""))
        if version not in ("1", "2"):
            raise SnsVerificationError(f"unsupported SNS SignatureVersion {version!r}")
        url = str(doc.get("SigningCertURL") or doc.get("SigningCertUrl") or "")
        cert = self._certificate(url)
        try:
            signature = base64.b64decode(str(doc.get("Signature", "")), validate=True)
        except ValueError:
            raise SnsVerificationError("the SNS Signature is not base64") from None
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SnsVerificationError("the signing certificate does not hold an RSA key")
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        try:
            key.verify(signature, string_to_sign(doc), padding.PKCS1v15(), digest)
        except InvalidSignature:
            raise SnsVerificationError("the SNS signature does not match the message (forged or altered)") \
                from None

    def _certificate(self, url: str):
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise SnsVerificationError(f"the signing certificate URL is not https: {url!r}")
        host = (parts.hostname or "").lower()
        if not self.host_pattern.match(host):
            raise SnsVerificationError(f"the signing certificate is not on an SNS host: {host!r}")
        if not parts.path.endswith(".pem"):
            raise SnsVerificationError(f"the signing certificate URL does not name a .pem file: {url!r}")
        if url in self._certs:
            return self._certs[url]
        from cryptography import x509

        pem = self._cached(url)
        if pem is None:
            ctx = ssl.create_default_context(cafile=self.cafile)
            try:
                with urllib.request.urlopen(url, timeout=self.timeout, context=ctx) as resp:  # noqa: S310
                    pem = resp.read(65536)
            except OSError as exc:
                raise SnsVerificationError(f"cannot fetch the signing certificate {url}: {exc}") from None
            self._store(url, pem)
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise SnsVerificationError(f"{url} is not a PEM certificate") from None
        self._certs[url] = cert
        return cert

    def _path(self, url: str) -> str | None:
        if not self.cache_dir:
            return None
        return os.path.join(self.cache_dir, hashlib.sha256(url.encode()).hexdigest()[:32] + ".pem")

    def _cached(self, url: str) -> bytes | None:
        path = self._path(url)
        if path and os.path.exists(path):
            with open(path, "rb") as fh:
                return fh.read()
        return None

    def _store(self, url: str, pem: bytes) -> None:
        path = self._path(url)
        if not path:
            return
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(pem)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written is only slower


def _default_cache() -> str:
    from platformdirs import user_cache_dir

    return os.path.join(user_cache_dir("bounce-classify", appauthor=False), "sns-certs")


def verify_json_bytes(data: bytes, verifier: SnsVerifier) -> None:
    """Verify one JSON document that must be an SNS envelope."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise SnsVerificationError("not JSON, so not an SNS message") from None
    if not is_sns_envelope(doc):
        raise SnsVerificationError("not an SNS message (no Type, TopicArn and Signature)")
    verifier.verify(doc)


def verify_item(item, verifier: SnsVerifier) -> None:
    """The ``check`` for classify_paths: every item must be a genuine SNS message."""
    if item.form != "json":
        raise SnsVerificationError("rejected by --verify-sns: not an SNS message in JSON")
    try:
        verify_json_bytes(item.data, verifier)
    except SnsVerificationError as exc:
        raise SnsVerificationError(f"rejected by --verify-sns: {exc}") from None
