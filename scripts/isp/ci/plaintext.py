"""Plaintext tracking sheets found by what they hold, not by their name.

A sheet saved as ``notes.txt``, ``march.dat`` or inside a zip or an xlsx is still a sheet: the gate
looks in every added or changed file (and in the members of zip-based archives: zip, xlsx, ods,
docx) for the tidy sheet's header (five or more of its column names as the whole of a line's
fields, or as cells of a workbook) or for rows shaped like the sheet's (a ``YYYY-MM`` field, six
or more fields, a count at the end). sops envelopes are skipped: they hold no plaintext.
Nothing found is ever echoed: a finding names the file (and archive member) only.
"""

from __future__ import annotations

import io
import re
import zipfile

from isp.crypto import sops
from isp.sheets.layouts import TEMPLATE_LABELS
from isp.sheets.tidy import COLUMNS

HEADER_NAMES = frozenset({*COLUMNS, "agency", "period", *TEMPLATE_LABELS})
MIN_HEADER_FIELDS = 5
MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 2
_SPLIT = re.compile(r"[,;\t|]")
_ROW = re.compile(r'^\s*"?\d{4}-(0[1-9]|1[0-2])"?\s*(?:[,;\t|][^,;\t|\n]*){4,}[,;\t|]\s*"?\d+"?\s*$')
_XML_TEXT = re.compile(rb">([^<>]{1,200})<")


def _is_header(fields: list[str]) -> bool:
    names = [f.strip().strip("\"'").strip().casefold() for f in fields]
    return len(names) >= MIN_HEADER_FIELDS and all(n in HEADER_NAMES for n in names)


def _text_finding(text: str) -> str | None:
    for line in text.splitlines():
        if len(line) > 4000:
            continue
        if _is_header(_SPLIT.split(line)):
            return "a tracking sheet's header"
        if _ROW.match(line):
            return "rows shaped like a tracking sheet's"
    return None


def _xml_finding(data: bytes) -> str | None:
    cells = {m.decode("utf-8", "replace").strip().casefold() for m in _XML_TEXT.findall(data)}
    if len(cells & HEADER_NAMES) >= MIN_HEADER_FIELDS:
        return "a tracking sheet's header"
    return None


def _archive_finding(data: bytes, depth: int) -> str | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "an archive the gate cannot open"
    if len(members) > MAX_MEMBERS:
        return f"an archive of more than {MAX_MEMBERS} members"
    for member in members:
        if member.is_dir():
            continue
        if member.file_size > MAX_MEMBER_BYTES:
            return f"an archive member over {MAX_MEMBER_BYTES} bytes ({member.filename!r})"
        try:
            with archive.open(member) as handle:
                inner = handle.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
            return f"an archive member the gate cannot read ({member.filename!r})"
        found = finding(inner, depth + 1)
        if found:
            return f"{found} (in {member.filename!r})"
    return None


def finding(data: bytes, depth: int = 0) -> str | None:
    """What in ``data`` looks like a plaintext tracking sheet, or None."""
    if data.startswith(b"PK\x03\x04"):
        return _archive_finding(data, depth) if depth < MAX_DEPTH else "an archive nested too deep"
    if sops.is_envelope(data):
        return None
    head = data.lstrip()[:200]
    if (head.startswith(b"<") and b"<?xml" in data[:100]) or head.startswith((b"<sst", b"<worksheet")):
        return _xml_finding(data)
    return _text_finding(data.decode("utf-8", "replace"))
