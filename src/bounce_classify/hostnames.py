"""What a server's name says about the domain it serves; shared by the decoders (which server
of a transcript was the recipient's) and the rules (the ``remote_mta: recipient-domain`` label)."""

from __future__ import annotations


def serves_domain(host: str, domain: str) -> bool:
    """Whether a server's name says it serves ``domain``: a name inside the domain
    (``mx1.example.org``), or a hosted MX named after it, either with the domain in front
    (``example.org.in.filter.example``) or, as Microsoft 365 names a tenant's MX, with the
    domain's dots made dashes in the first label (``example-org.mail.protection.outlook.com``).
    Both are compared lower-cased, without a root dot."""
    host, domain = host.lower().rstrip("."), domain.lower().rstrip(".")
    if not domain or "." not in domain:
        return False
    if host == domain or host.endswith("." + domain) or host.startswith(domain + "."):
        return True
    first, dot, _ = host.partition(".")
    return bool(dot) and "-" in first and first.replace("-", "") == domain.replace(".", "").replace("-", "")
