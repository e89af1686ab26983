"""Sending the protocol's e-mails through an SMTP server, each exactly once.

Configuration comes from the environment: ``ISP_SMTP_HOST``, ``ISP_SMTP_PORT`` (587),
``ISP_SMTP_USER``, ``ISP_SMTP_PASSWORD``, ``ISP_SMTP_FROM`` and ``ISP_SMTP_SECURITY``
(``starttls`` by default, ``tls``, or ``none``, which is refused for any server but this machine:
a password or a message never crosses a network in clear).

What was sent is kept in the repository, in ``protocol/notifications/sent.jsonl`` (one line per
message: its id, kind, recipient and when; no figure), rewritten atomically after every message
the server accepted. A message the server refused, or every message when the server is down,
stays out of the log, so the next run sends it; each gets one line saying why.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from isp.errors import IspError, UsageError
from isp.fsutil import write_text_atomic
from isp.governance import mail
from isp.governance.notices import Notice

SENT_LOG = "protocol/notifications/sent.jsonl"
SECURITY = ("starttls", "tls", "none")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
TIMEOUT = 30


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    sender: str
    security: str
    cafile: str | None = None  # a private CA (tests; a relay with its own certificate)


def settings(env: Mapping[str, str] | None = None) -> SmtpSettings:
    """The SMTP settings from the environment, refused with one line when they cannot be right."""
    env = os.environ if env is None else env
    host = env.get("ISP_SMTP_HOST", "").strip()
    sender = env.get("ISP_SMTP_FROM", "").strip()
    security = env.get("ISP_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if not host or not sender:
        raise UsageError("set ISP_SMTP_HOST and ISP_SMTP_FROM (and ISP_SMTP_USER, ISP_SMTP_PASSWORD) to send")
    if security not in SECURITY:
        raise UsageError(f"ISP_SMTP_SECURITY must be one of {', '.join(SECURITY)}, not '{security}'")
    if security == "none" and host.lower() not in LOCAL_HOSTS:
        raise UsageError(
            f"ISP_SMTP_SECURITY=none is allowed only for a server on this machine, not {host}: use starttls or tls"
        )
    port = env.get("ISP_SMTP_PORT", "").strip() or ("465" if security == "tls" else "587")
    if not port.isdigit():
        raise UsageError(f"ISP_SMTP_PORT must be a port number, not '{port}'")
    user, password = env.get("ISP_SMTP_USER", ""), env.get("ISP_SMTP_PASSWORD", "")
    if bool(user) != bool(password):
        raise UsageError("set both ISP_SMTP_USER and ISP_SMTP_PASSWORD, or neither")
    return SmtpSettings(host, int(port), user, password, sender, security, env.get("ISP_SMTP_CAFILE") or None)


# --- the sent log ------------------------------------------------------------------------------


def sent_ids(root: Path) -> set[str]:
    path = root / SENT_LOG
    if not path.exists():
        return set()
    ids = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                ids.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError, TypeError):
                raise IspError(
                    f"{SENT_LOG}, line {number}: not a sent-message record; fix or remove the line"
                ) from None
    return ids


def _record(root: Path, notice: Notice) -> None:
    path = root / SENT_LOG
    entry = {
        "id": notice.id,
        "kind": notice.kind,
        "to": notice.recipient.email,
        "sent": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    write_text_atomic(path, before + json.dumps(entry, ensure_ascii=False) + "\n")


# --- delivery ----------------------------------------------------------------------------------


@dataclass
class Report:
    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # id -> why
    unreachable: str | None = None  # why no message could be sent at all

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "already_sent": self.already, "failed": self.failed, "unreachable": self.unreachable}


def _connect(config: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=config.cafile)
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT)
    try:
        client.ehlo()
        if config.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if config.user:
            client.login(config.user, config.password)
    except BaseException:
        client.close()
        raise
    return client


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _why(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the server refused ISP_SMTP_USER / ISP_SMTP_PASSWORD"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [f"{code} {_text(msg)}" for code, msg in exc.recipients.values()]
        return f"the server refused the recipient ({'; '.join(codes)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server refused the message ({exc.smtp_code} {_text(exc.smtp_error)})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, OSError):
        return f"cannot reach it ({exc.strerror or type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def send(root: Path, notices: Iterable[Notice], config: SmtpSettings) -> Report:
    """Send every notice not yet in the sent log; record each one as soon as the server took it."""
    report = Report()
    done = sent_ids(root)
    todo = []
    for notice in notices:
        if notice.id in done:
            report.already.append(notice.id)
        else:
            todo.append(notice)
    if not todo:
        return report
    messages = [(n, mail.render(n, config.sender)) for n in todo]
    try:
        client = _connect(config)
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        report.unreachable = f"cannot use the SMTP server {config.host}:{config.port}: {_why(exc)}"
        report.failed = {n.id: report.unreachable for n in todo}
        return report
    try:
        for notice, message in messages:
            try:
                client.send_message(message)
            except (OSError, smtplib.SMTPException) as exc:
                report.failed[notice.id] = _why(exc)
                if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                    client = _reconnect(config, client)
                continue
            _record(root, notice)
            report.sent.append(notice.id)
    finally:
        _quit(client)
    return report


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _reconnect(config: SmtpSettings, client: smtplib.SMTP) -> smtplib.SMTP:
    try:
        client.close()
        return _connect(config)
    except (OSError, smtplib.SMTPException):
        return client  # the next messages fail too, each with its line, and stay due
