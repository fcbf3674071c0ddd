"""Exchange Online / Microsoft 365 / Outlook.com NDRs, old and new layouts."""

from __future__ import annotations

from ..message import Message
from ..model import Facts
from ._exchange import decode_exchange

_HOSTS = (".outlook.com", ".protection.outlook.com", ".prod.exchangelabs.com", "outlook.com>")


class ExchangeOnline:
    name = "exchange-online"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if "x-ms-exchange-message-is-ndr" in h:
            return True
        hits = sum(1 for n in ("x-ms-exchange-crosstenant-originalarrivaltime", "x-ms-exchange-crosstenant-id",
                               "x-microsoft-antispam", "x-forefront-antispam-report", "x-originatororg",
                               "x-ms-publictraffictype") if n in h)
        mid = h.get("message-id") or ""
        if any(s in mid for s in _HOSTS):
            hits += 1
        return hits >= 2 and bool((h.decoded("subject") or "").strip())

    def decode(self, msg: Message) -> Facts | None:
        return decode_exchange(msg, self.name)


DECODER = ExchangeOnline()
