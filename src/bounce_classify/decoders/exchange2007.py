"""Exchange Server 2007 and later, on premises ("Diagnostic information for administrators")."""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ..patterns import ci_regex
from ._exchange import decode_exchange

_SUBJECT = lazy_re(r"^(?:Undeliverable|Non remis|Non recapitabile|Onbestelbaar|N\u00e3o[_ ]entregue|"
                      r"Unzustellbar|No se puede entregar|Olevererbart|Impossible de remettre|Delivery Status)", re.I)
_BODY = ci_regex(r"Diagnostic information for administrators|Delivery has failed to these recipients|"
                   r"Generating server:|Informations de diagnostic pour les administrateurs|"
                   r"Diagnoseinformationen für Administratoren|Informazioni di diagnostica per gli amministratori|"
                   r"Información de diagnóstico para administradores|Informações de diagnóstico para administradores")


class Exchange2007:
    name = "exchange2007"

    def detect(self, msg: Message) -> bool:
        h = msg.headers
        if "content-language" in h and _SUBJECT.match(h.decoded("subject") or ""):
            return True
        return bool(_BODY.search(msg.plain_text[:5000]))

    def decode(self, msg: Message) -> Facts | None:
        return decode_exchange(msg, self.name)


DECODER = Exchange2007()
