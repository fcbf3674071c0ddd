"""Write Outlook .msg fixtures: a small compound-file (CFB) writer and the MSG property layout.

The .msg fixtures under ``tests/fixtures/outlook/`` are made by this module from a readable
description (``python3 tests/msgwriter.py`` writes them again; a test checks that the files
on disk are what it makes).  Only what a saved NDR needs is supported: one level of storages
and streams, 512-byte sectors (CFB version 3), small streams in the mini stream, and the
Unicode string properties of a message and its recipients ([MS-CFB], [MS-OXMSG]).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

SECTOR = 512
MINI = 64
CUTOFF = 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")

# MAPI property ids of the string properties the fixtures use (type 0x001F, PT_UNICODE)
PR_MESSAGE_CLASS = 0x001A
PR_SUBJECT = 0x0037
PR_TRANSPORT_MESSAGE_HEADERS = 0x007D
PR_SENDER_NAME = 0x0C1A
PR_SENDER_EMAIL_ADDRESS = 0x0C1F
PR_DISPLAY_TO = 0x0E04
PR_BODY = 0x1000
PR_DISPLAY_NAME = 0x3001
PR_ADDRTYPE = 0x3002
PR_EMAIL_ADDRESS = 0x3003
PT_UNICODE = 0x001F


@dataclass
class Node:
    name: str
    data: bytes | None = None  # a stream; None for a storage
    children: list[Node] = field(default_factory=list)


def _key(node: Node) -> tuple[int, str]:
    # CFB orders siblings by name length, then by upper-cased name
    return (len(node.name), node.name.upper())


def build_cfb(root_children: list[Node]) -> bytes:
    """A compound file holding ``root_children`` under the root storage."""
    entries: list[Node] = [Node("Root Entry", None, root_children)]
    ids: dict[int, int] = {id(entries[0]): 0}

    def collect(node: Node) -> None:
        for child in sorted(node.children, key=_key):
            ids[id(child)] = len(entries)
            entries.append(child)
            collect(child)

    collect(entries[0])

    # small streams go to the mini stream, large ones to sectors of their own
    mini_data = bytearray()
    minifat: list[int] = []
    start: dict[int, int] = {}
    large: list[tuple[int, bytes]] = []
    for node in entries[1:]:
        if node.data is None:
            continue
        if len(node.data) < CUTOFF:
            if not node.data:
                start[id(node)] = END
                continue
            first = len(minifat)
            count = -(-len(node.data) // MINI)
            minifat.extend(range(first + 1, first + count))
            minifat.append(END)
            start[id(node)] = first
            mini_data += node.data + b"\0" * (count * MINI - len(node.data))
        else:
            large.append((id(node), node.data))

    chains: list[tuple[str, bytes]] = []  # (what, bytes) laid out sector after sector
    if mini_data:
        chains.append(("mini", bytes(mini_data)))
    for key, data in large:
        chains.append((f"large:{key}", data))
    directory = b"".join(_dir_entry(n, entries, ids, start, len(mini_data)) for n in entries)
    pad = (-len(entries)) % (SECTOR // 128)
    directory += b"".join(_empty_entry() for _ in range(pad))
    chains.append(("dir", directory))
    if minifat:
        raw = b"".join(struct.pack("<I", x) for x in minifat)
        raw += b"\xff" * ((-len(raw)) % SECTOR)
        chains.append(("minifat", raw))

    data_sectors = sum(-(-len(d) // SECTOR) for _, d in chains)
    fat_sectors = 1
    while (data_sectors + fat_sectors) > fat_sectors * (SECTOR // 4):
        fat_sectors += 1
    assert fat_sectors <= 109, "too big for a header-only DIFAT"

    fat: list[int] = []
    first_of: dict[str, int] = {}
    body = bytearray()
    for what, data in chains:
        count = -(-len(data) // SECTOR)
        first = len(fat)
        first_of[what] = first
        fat.extend(range(first + 1, first + count))
        fat.append(END)
        body += data + b"\0" * (count * SECTOR - len(data))
    fat_start = len(fat)
    fat.extend([FATSECT] * fat_sectors)
    fat.extend([FREE] * (fat_sectors * (SECTOR // 4) - len(fat)))

    for key, _ in large:
        start[key] = first_of[f"large:{key}"]
    if mini_data:
        start[id(entries[0])] = first_of["mini"]
    # the directory depends on the start sectors: write it again now they are known
    directory = b"".join(_dir_entry(n, entries, ids, start, len(mini_data)) for n in entries)
    directory += b"".join(_empty_entry() for _ in range(pad))
    offset = sum(-(-len(d) // SECTOR) for w, d in chains[: [w for w, _ in chains].index("dir")]) * SECTOR
    body[offset: offset + len(directory)] = directory

    header = bytearray(MAGIC + b"\0" * 16)
    header += struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
    header += b"\0" * 6
    header += struct.pack("<IIIIIIIII", 0, fat_sectors, first_of["dir"], 0, CUTOFF,
                          first_of.get("minifat", END), -(-len(minifat) * 4 // SECTOR) if minifat else 0, END, 0)
    difat = [fat_start + i for i in range(fat_sectors)] + [FREE] * (109 - fat_sectors)
    header += b"".join(struct.pack("<I", x) for x in difat)
    assert len(header) == SECTOR
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    return bytes(header) + bytes(body) + fat_bytes


def _dir_entry(node: Node, entries: list[Node], ids: dict[int, int], start: dict[int, int], mini_size: int) -> bytes:
    name = node.name.encode("utf-16-le")
    assert len(name) <= 62, node.name
    is_root = node is entries[0]
    kind = 5 if is_root else (1 if node.data is None else 2)
    child = NOSTREAM
    if node.children:
        ordered = sorted(node.children, key=_key)
        child = ids[id(ordered[0])]
    right = NOSTREAM
    parent = next((p for p in entries if any(c is node for c in p.children)), None)
    if parent is not None:
        siblings = sorted(parent.children, key=_key)
        at = next(i for i, c in enumerate(siblings) if c is node)
        if at + 1 < len(siblings):
            right = ids[id(siblings[at + 1])]
    if is_root:
        first, size = (start.get(id(node), END) if mini_size else END), mini_size
    elif node.data is None:
        first, size = 0, 0
    else:
        first, size = start.get(id(node), END), len(node.data)
    out = name + b"\0\0" + b"\0" * (64 - len(name) - 2)
    out += struct.pack("<HBB", len(name) + 2, kind, 1)  # every node black; siblings chained rightwards
    out += struct.pack("<III", NOSTREAM, right, child)
    out += b"\0" * 16 + struct.pack("<I", 0) + b"\0" * 16
    out += struct.pack("<IQ", first, size)
    assert len(out) == 128
    return out


def _empty_entry() -> bytes:
    return b"\0" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM) + \
        b"\0" * 36 + struct.pack("<IQ", 0, 0)


def _string_streams(props: dict[int, str]) -> tuple[list[Node], bytes]:
    """The __substg1.0_ streams of string properties, and their fixed-size property entries."""
    streams, table = [], b""
    for pid in sorted(props):
        value = props[pid].encode("utf-16-le")
        streams.append(Node(f"__substg1.0_{pid:04X}{PT_UNICODE:04X}", value))
        tag = (pid << 16) | PT_UNICODE
        table += struct.pack("<IIII", tag, 0x6, len(value) + 2, 0)  # readable and writable
    return streams, table


def build_msg(props: dict[int, str], recipients: list[dict[int, str]]) -> bytes:
    """An Outlook message: top-level string properties, and recipients with theirs."""
    children, table = _string_streams(props)
    header = struct.pack("<8sIIII8s", b"\0" * 8, len(recipients), 0, len(recipients), 0, b"\0" * 8)
    children.append(Node("__properties_version1.0", header + table))
    children.append(Node("__nameid_version1.0", None, [
        Node("__substg1.0_00020102", b""), Node("__substg1.0_00030102", b""), Node("__substg1.0_00040102", b"")]))
    for i, rcpt in enumerate(recipients):
        streams, rtable = _string_streams(rcpt)
        streams.append(Node("__properties_version1.0", b"\0" * 8 + rtable))
        children.append(Node(f"__recip_version1.0_#{i:08X}", None, streams))
    return build_cfb(children)


# -- the fixtures ---------------------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "outlook"

NDR_HEADERS = """\
Received: from AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208::1) by
 AM0PR01MB5678.eurprd01.prod.exchangelabs.com with Microsoft SMTP Server; Tue,
 10 Nov 2026 09:30:12 +0000
MIME-Version: 1.0
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@sender.example>
To: <events@sender.example>
Date: Tue, 10 Nov 2026 09:30:12 +0000
Subject: Undeliverable: Conference programme
Message-ID: <3c1d2e4f-ndr-0001@AM0PR01MB5678.eurprd01.prod.exchangelabs.com>
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied

"""

NDR_BODY = """\
Your message to m.keller@partner.example couldn't be delivered.

m.keller wasn't found at partner.example.

Diagnostic information for administrators:

Generating server: AM0PR01MB5678.eurprd01.prod.exchangelabs.com

m.keller@partner.example
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'

Original message headers:

Message-ID: <programme-2026@sender.example>
Subject: Conference programme
From: Events <events@sender.example>
To: m.keller@partner.example
"""


def fixtures() -> dict[str, bytes]:
    ndr = build_msg(
        {PR_MESSAGE_CLASS: "REPORT.IPM.Note.NDR", PR_SUBJECT: "Undeliverable: Conference programme",
         PR_TRANSPORT_MESSAGE_HEADERS: NDR_HEADERS, PR_BODY: NDR_BODY, PR_SENDER_NAME: "Microsoft Outlook",
         PR_SENDER_EMAIL_ADDRESS: "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@sender.example",
         PR_DISPLAY_TO: "events@sender.example"},
        [{PR_DISPLAY_NAME: "events@sender.example", PR_ADDRTYPE: "SMTP", PR_EMAIL_ADDRESS: "events@sender.example"}],
    )
    return {"ndr-recipient-not-found.msg": ndr}


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, data in fixtures().items():
        (FIXTURES / name).write_bytes(data)
        print(f"wrote {FIXTURES / name} ({len(data)} bytes)")
