"""`isp notify`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, ok, table, warn
from isp.errors import IspError
from isp.governance import delivery, notices
from isp.protocol import workdays


def notify_command(
    repo: RepoOption = Path("."),
    send: Annotated[
        bool, typer.Option("--send", help="Deliver what is due through the SMTP server in ISP_SMTP_* and record it.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """List every e-mail the protocol calls for today (ISP_TODAY pins the day): sheets due and
    overdue, consolidated reports ready, requests (new, follow-up, escalation, decisions, outcome,
    denial reasons), breaches, suspensions, the sectoral report, meetings and the protocol's review.
    With --send, deliver those not sent yet (SMTP settings from ISP_SMTP_HOST, ISP_SMTP_PORT,
    ISP_SMTP_USER, ISP_SMTP_PASSWORD, ISP_SMTP_FROM, ISP_SMTP_SECURITY) and record each in
    protocol/notifications/sent.jsonl, so no run sends a message twice. No figure is ever in a message.

    Example: `isp notify --json`; `ISP_SMTP_HOST=smtp.example.org ISP_SMTP_FROM=isp@example.org isp notify --send`
    """
    today = workdays.today()
    due = notices.notices(repo, today)
    config = delivery.settings() if send else None
    sent = delivery.sent_ids(repo)
    report = delivery.send(repo, due, config) if config else None
    if json_out:
        emit_json(
            {
                "today": today.isoformat(),
                "notices": [{**n.as_dict(), "sent_before": n.id in sent} for n in due],
                "delivery": report.as_dict() if report else None,
            }
        )
    else:
        rows = [
            (n.due, n.kind, n.subject, f"{n.recipient.email} ({n.recipient.role})", _state(n.id, sent)) for n in due
        ]
        table(f"E-mails due on {today}", ["due", "kind", "about", "to", ""], rows)
    if report:
        _summarise(report)


def _state(notice_id: str, sent: set[str]) -> str:
    return "sent" if notice_id in sent else ""


def _summarise(report: delivery.Report) -> None:
    if report.unreachable:
        warn(f"{report.unreachable}; {len(report.failed)} message(s) not sent, due again next run")
    else:
        for notice_id, why in report.failed.items():
            warn(f"{notice_id}: not sent, due again next run: {why}")
    ok(f"{len(report.sent)} sent, {len(report.already)} sent before, {len(report.failed)} not sent")
    if report.failed:
        raise IspError(f"{len(report.failed)} message(s) not sent; they stay due for the next run")


def register(app: typer.Typer) -> None:
    app.command("notify")(notify_command)
