"""CSV output: the flat contract fields, nested objects flattened with a dot."""

from __future__ import annotations

import csv
from typing import TextIO

from ..model import Result

COLUMNS = (
    "source", "message", "kind", "recipient", "action", "status", "reply_code", "reason", "hop",
    "permanent", "hard_bounce", "fix_owner", "rule", "decoded_by", "reporting_mta", "remote_mta",
    "smtp_command", "timestamp", "feedback_type", "diagnostic", "remediation",
    "bounce.message_id", "bounce.from", "bounce.subject", "bounce.date",
    "original.message_id", "original.from", "original.to", "original.subject", "original.date", "token",
)


class CsvRenderer:
    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out)
        self.out = out
        self.writer.writerow(COLUMNS)

    def write(self, result: Result) -> None:
        d = result.to_dict()
        row = []
        for col in COLUMNS:
            if "." in col:
                obj, key = col.split(".", 1)
                v = (d.get(obj) or {}).get(key)
            else:
                v = d.get(col)
            row.append("" if v is None else str(v).lower() if isinstance(v, bool) else v)
        self.writer.writerow(row)

    def close(self) -> None:
        self.out.flush()
