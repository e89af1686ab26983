"""One notice as an e-mail: plain text and HTML, in each language the recipient's agency asks for,
with an ``.ics`` invitation when it announces a deadline or a meeting.

The wording lives in ``templates/mail/messages.yaml`` (one subject and body per kind and
language, jinja2), the layout in ``message.txt.j2`` and ``message.html.j2`` beside it. The last
gate before a message leaves: :func:`figures_in` finds any digit in what the notice's facts
carried in (periods, dates and identifiers excepted), and :func:`render` refuses such a message.
"""

from __future__ import annotations

import email.policy
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from isp import yamlfiles
from isp.errors import IspError
from isp.governance.notices import Notice

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "mail"
FOOTER = (
    "Sent by the child-protection information sharing protocol's repository (isp notify). No figures travel by e-mail."
)
# Headers are not folded before the SMTP line limit: Python 3.11's folder drops the quotes around
# a long display name holding a comma or angle brackets, so `To: "A, <b>" <x@y>` went out as
# `To: A, <b> <x@y>`, two mangled recipients (measured here on 3.11.7).
POLICY = email.policy.default.clone(max_line_length=998)
ICS_STAMP = datetime(2015, 10, 15, tzinfo=UTC)  # fixed: the same notice gives the same invitation
# Digits that may appear in a message: dates, months, half-years, quarters, request and breach ids.
ALLOWED = re.compile(r"https?://\S+|\b\d{4}-\d{2}-\d{2}\b|\b\d{4}-(?:\d{2}|H[12]|Q[1-4])\b|\b[A-Z]+-\d{4}-\d{3}\b")


@dataclass(frozen=True)
class Part:
    lang: str
    subject: str
    paragraphs: list[str]


@functools.cache
def _wording() -> dict[str, Any]:
    data: dict[str, Any] = yamlfiles.load_file(TEMPLATES / "messages.yaml")
    return data


@functools.cache
def _env(autoescape: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=autoescape,  # select_autoescape(["html"]) missed "message.html.j2": it ends in .j2
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _variables(notice: Notice) -> dict[str, str]:
    return {"name": notice.recipient.name, "due": notice.due.isoformat(), "link": "", **notice.facts}


def _part(notice: Notice, lang: str) -> Part:
    wording = _wording()[notice.kind][lang]
    env = _env(False)
    values = _variables(notice)
    subject = env.from_string(wording["subject"]).render(values).strip()
    body = env.from_string(wording["body"]).render(values)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    return Part(lang, subject, paragraphs)


def figures_in(text: str) -> list[str]:
    """Runs of digits that are not a date, a period or an identifier."""
    return re.findall(r"\d+", ALLOWED.sub("", text))


def _ics(notice: Notice, summary: str) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//ISP Jordan//isp notify//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    uid = hashlib.sha256(f"{notice.kind}/{notice.subject}/{notice.due}".encode()).hexdigest()[:24]
    event.add("uid", f"{uid}@isp.example.org")
    event.add("summary", summary)
    event.add("dtstart", notice.due)
    event.add("dtend", notice.due + timedelta(days=1))
    event.add("dtstamp", ICS_STAMP)
    event.add("transp", "TRANSPARENT")
    cal.add_component(event)
    return bytes(cal.to_ical())


def render(notice: Notice, sender: str) -> EmailMessage:
    """The message for ``notice``; refused (IspError) if anything in it reads like a figure."""
    parts = [_part(notice, lang) for lang in notice.recipient.languages]
    subject = " | ".join(dict.fromkeys(p.subject for p in parts))
    context = {"parts": parts, "subject": subject, "footer": FOOTER}
    text = _env(False).get_template("message.txt.j2").render(context)
    html = _env(True).get_template("message.html.j2").render(context)
    found = figures_in(subject + "\n" + text)
    if found:
        raise IspError(f"{notice.id}: the message would carry a figure ({len(found)} digit run(s)); not sent")
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = sender
    # An Address, not formatted text, so the header registry quotes a display name holding quotes,
    # commas or angle brackets (and POLICY keeps it from the folder that drops those quotes).
    local, _, domain = notice.recipient.email.rpartition("@")
    message["To"] = Address(display_name=notice.recipient.name, username=local, domain=domain)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "isp.example.org")
    message["X-ISP-Notice"] = notice.id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if notice.event:
        message.add_attachment(
            _ics(notice, parts[0].subject), maintype="text", subtype="calendar", filename=f"{notice.kind}.ics"
        )
    return message
