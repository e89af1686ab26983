"""One GitHub issue per reminder, kept in step with ``isp remind`` through the `gh` command line.

Each issue carries the item's stable key in a hidden marker (``<!-- isp-reminder: KEY -->``) and
the label ``isp-reminder``. A sync opens an issue for each new item, edits one whose text
changed, leaves the others alone, and closes (with a comment) those whose item is no longer due.
`gh` authenticates with ``GH_TOKEN`` and picks the repository from ``GH_REPO`` or the checkout.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from isp.errors import IspError
from isp.governance.reminders import Item

LABEL = "isp-reminder"
MARKER = "<!-- isp-reminder: {key} -->"
MARKER_RE = re.compile(r"<!-- isp-reminder: (\S+) -->")


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return dict(self.__dict__)


def gh(*args: str, stdin: str = "", program: str = "gh") -> str:
    """Run `gh`; a failure is one line naming the command, never the token."""
    try:
        proc = subprocess.run([program, *args], input=stdin, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise IspError("`gh` (the GitHub command line) is not installed: see https://cli.github.com") from None
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise IspError(f"gh {' '.join(args[:2])} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


# Record text (a requester's organisation, a focal point's name) is written by any member: in an
# issue it must not ping (``@org/team``), link or embed (``[x](...)``, ``![x](...)``), hide text or
# forge this module's marker (``<!-- isp-reminder: ... -->``), nor cross-reference (``#12``).
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}()!|~#])")
_MENTION = re.compile(r"(?<![\w.+-])([@#])")
WORD_JOINER = "\u2060"  # invisible; splits "@team" so GitHub neither links nor notifies it


def markdown_text(text: str) -> str:
    """``text`` shown literally in GitHub Markdown."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    return _MENTION.sub(r"\1" + WORD_JOINER, text)


def render(item: Item) -> str:
    """The issue body: the item, who is concerned, and the marker that finds the issue again."""
    due = f"**Due:** {item.due}" + (" (overdue)" if item.overdue else "")
    lines = [markdown_text(item.body), "", due]
    if item.concerned:
        lines.append(f"**Concerned:** {markdown_text(', '.join(item.concerned))}")
    lines += [f"- {markdown_text(contact)}" for contact in item.contacts]
    lines += [
        "",
        "_Opened and kept up to date by `isp remind --github`; closed when no longer due._",
        MARKER.format(key=item.key),
    ]
    return "\n".join(lines)


def _open_issues(program: str) -> dict[str, dict[str, Any]]:
    out = gh(
        "issue",
        "list",
        "--label",
        LABEL,
        "--state",
        "open",
        "--limit",
        "1000",
        "--json",
        "number,title,body",
        program=program,
    )
    found = {}
    for issue in json.loads(out or "[]"):
        match = MARKER_RE.search(issue.get("body") or "")
        if match:
            found[match.group(1)] = issue
    return found


def sync(items: Iterable[Item], program: str = "gh") -> SyncReport:
    """Make the open ``isp-reminder`` issues match ``items`` exactly."""
    gh(
        "label",
        "create",
        LABEL,
        "--color",
        "D93F0B",
        "--description",
        "Due or overdue under the ISP",
        "--force",
        program=program,
    )
    existing = _open_issues(program)
    report = SyncReport()
    wanted = {item.key: item for item in items}
    for key, item in wanted.items():
        body = render(item)
        issue = existing.get(key)
        if issue is None:
            gh(
                "issue",
                "create",
                "--title",
                item.title,
                "--label",
                LABEL,
                "--body-file",
                "-",
                stdin=body,
                program=program,
            )
            report.created.append(key)
        elif issue.get("title") != item.title or (issue.get("body") or "").strip() != body.strip():
            gh(
                "issue",
                "edit",
                str(issue["number"]),
                "--title",
                item.title,
                "--body-file",
                "-",
                stdin=body,
                program=program,
            )
            report.updated.append(key)
        else:
            report.unchanged.append(key)
    for key, issue in existing.items():
        if key not in wanted:
            gh(
                "issue",
                "close",
                str(issue["number"]),
                "--comment",
                "No longer due: closed by `isp remind --github`.",
                program=program,
            )
            report.closed.append(key)
    return report
