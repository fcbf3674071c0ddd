"""An unattributed qmail-derived MTA (Sisimai calls it X2): "Unable to deliver message to the following address(es)."

The report opens with "Message from <domain>.", lists each failed address in angle
brackets followed by the verdict on the next lines (for example "This user doesn't have a
example.com account (…) [0]"), and ends with "--- Original message follows.".  Like
qmail it quotes no SMTP command.
"""

from __future__ import annotations

import re

from ..lazyre import lazy_re
from ..message import Message
from ..model import Facts
from ._mta import decode_standard

_SIGNATURE = "Unable to deliver message to the following address(es)."
_START = lazy_re(r"Unable to deliver message to the following address\(es\)\.", re.I)
_STOP = lazy_re(r"^--- Original message follows\.", re.M)


class X2:
    name = "x2"

    def detect(self, msg: Message) -> bool:
        return _SIGNATURE in msg.plain_text[:2000]

    def decode(self, msg: Message) -> Facts | None:
        return decode_standard(msg, self.name, start=_START, stop=_STOP, prefer_text=True)


DECODER = X2()
