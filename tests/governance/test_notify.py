"""`isp notify`: every protocol e-mail, sent once, through a real SMTP server (aiosmtpd).

Everything is real: git with SSH-signed commits, sops-encrypted sheets holding canary figures, an
aiosmtpd server on a free port (STARTTLS with a certificate from a private CA made by trustme,
and AUTH), the `isp` command line. Nothing is mocked.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from isp.demo import canaries
from isp.governance import breaches, delivery, mail, membership, notices, request_models
from isp.governance.request_status import working_calendar
from isp.protocol import loading
from tests.governance.helpers import approve_all, commit, decide, new
from tests.helpers import IspRepo, Keyring, isp, write_submission

CANARIES = (7919, 6007, 4523)  # planted in sheets and in free text; never in a message
DAY_A = date(2026, 3, 9)  # Feb sheets overdue, the request's follow-up, a breach meeting, a suspension
DAY_B = date(2026, 3, 16)  # the escalation, the senior-management referral, the task force meeting
DAY_D = date(2027, 9, 13)  # the protocol's review
USER, PASSWORD = "isp-bot", "a-long-smtp-password"


# --- the SMTP server -------------------------------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"

    def ids(self) -> list[str]:
        return [notice_id(m) for m in self.messages]


def notice_id(message: EmailMessage) -> str:
    return "".join(str(message["X-ISP-Notice"]).split())  # unfolded


def _authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Smtp:
    box: Mailbox
    env: dict[str, str | None]
    tls: ssl.SSLContext | None = None
    controller: Controller | None = None

    def start(self, port: int, tls: ssl.SSLContext | None, implicit: bool = False) -> None:
        extra: dict[str, Any] = {}
        if tls is not None and implicit:  # the whole connection is TLS: aiosmtpd's flag only knows STARTTLS
            extra = {"ssl_context": tls, "authenticator": _authenticate, "auth_require_tls": False}
        elif tls is not None:
            extra = {"tls_context": tls, "require_starttls": True, "authenticator": _authenticate}
        self.controller = Controller(self.box, hostname="127.0.0.1", port=port, **({"auth_require_tls": True} | extra))
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    """An SMTP server on 127.0.0.1 that wants STARTTLS (a private CA's certificate) and AUTH."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    port = free_port()
    env: dict[str, str | None] = {
        "ISP_SMTP_HOST": "127.0.0.1", "ISP_SMTP_PORT": str(port), "ISP_SMTP_USER": USER,
        "ISP_SMTP_PASSWORD": PASSWORD, "ISP_SMTP_FROM": "ISP Jordan <isp@example.org>",
        "ISP_SMTP_SECURITY": "starttls", "ISP_SMTP_CAFILE": str(cafile), "ISP_SITE_URL": "https://isp.example.org/",
    }  # fmt: skip
    server = Smtp(Mailbox(), env, tls=context)
    server.start(port, context)
    yield server
    server.stop()


# --- the repository ---------------------------------------------------------------------------------


def canary_sheet(repo: IspRepo, agency: str, month: str) -> None:
    """A real sheet with canary figures in three of its cells."""
    from isp.demo import synthetic

    frame = synthetic.month_sheet(repo.load(), agency, month)
    frame.loc[frame.index[: len(CANARIES)], "count"] = list(CANARIES)
    write_submission(repo, agency, month, frame=frame)


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> Path:
    """IRC sent February 2026 (with canaries), JRF suspended it, two requests (one denied with a
    reason holding a canary), a breach, a consolidated January. The tests copy it."""
    home = tmp_path_factory.mktemp("notify-home")
    (home / ".gitconfig").write_text("[user]\n\tname = ISP Test\n\temail = test@example.org\n")
    root = tmp_path_factory.mktemp("notify") / "isp"
    shutil.copytree(_template_repo, root, symlinks=True)
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith(("GIT_", "SOPS_"))]:
            env.delenv(name)
        env.setenv("HOME", str(home))
        env.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        _story(IspRepo(root, keyring))
    return root


def _story(repo: IspRepo) -> None:
    canary_sheet(repo, "IRC", "2026-02")
    commit(repo, "IRC February", signer="IRC:primary")
    (repo.root / "aggregates" / "monthly").mkdir(parents=True, exist_ok=True)
    (repo.root / "aggregates" / "monthly" / "2026-02.csv").write_text("{}")  # only its presence is read
    membership.suspend(repo.root, "JRF", "2026-02", "2026-02", f"Only {CANARIES[0]} staff left", date(2026, 3, 1))
    commit(repo, "JRF suspends February", signer="UNHCR:primary")
    new(repo)  # REQ-2026-001, issued Monday 2 March
    approve_all(repo, "REQ-2026-001", date(2026, 3, 3), but=("NHF", "UNICEF"))
    new(repo, id="REQ-2026-002", share_denial_reasons=True)
    decide(repo, "REQ-2026-002", "IRC", approve=False, day=date(2026, 3, 4), reason="The periods asked are too small.")
    decide(repo, "REQ-2026-002", "JRF", approve=False, day=date(2026, 3, 4), reason=f"We saw {CANARIES[1]} cases.")
    breach = breaches.open_breach(repo.root, date(2026, 3, 5), "A table was forwarded outside the group.")
    commit(repo, "Breach", [breach.path], "IMC:primary")


@pytest.fixture
def repo(busy: Path, tmp_path: Path) -> Path:
    root = tmp_path / "isp"
    shutil.copytree(busy, root, symlinks=True)
    return root


def days(root: Path) -> list[date]:
    """Days that, together, call for every kind of message."""
    cal = working_calendar(loading.load(root))
    ahead = timedelta(days=2)
    return [DAY_A, DAY_B, cal.submission_due("2026-03") - ahead, cal.sectoral_due(2026, 6) - ahead, DAY_D]


def notify(root: Path, day: date, env: dict[str, str | None], *args: str) -> Any:
    return isp("notify", "--repo", root, *args, env={**env, "ISP_TODAY": day.isoformat()})


# --- tests ---------------------------------------------------------------------------------------------


def test_notices_follow_the_protocol(repo: Path) -> None:
    found = {(n.kind, n.subject, n.recipient.email) for n in notices.notices(repo, DAY_A)}
    assert ("sheet-overdue", "2026-02-IMC", "second.imc@example.org") in found
    assert not any(s == "2026-02-IRC" for _, s, _ in found)  # IRC sent it
    assert ("report-ready", "2026-02", "focal.unicef@example.org") in found
    assert ("request-new", "REQ-2026-001", "focal.nhf@example.org") in found
    assert ("request-follow-up", "REQ-2026-001-NHF", "second.nhf@example.org") in found
    assert ("decision-recorded", "REQ-2026-001-IRC", "focal.unhcr@example.org") in found
    assert ("request-outcome", "REQ-2026-002", "focal.imc@example.org") in found
    assert ("denial-reason", "REQ-2026-002", "rami@example.org") in found
    assert ("breach-meeting", "BR-2026-001", "second.unicef@example.org") in found
    assert ("suspension", "JRF-2026-02", "sign.irc@example.org") in found
    later = {(n.kind, n.subject, n.recipient.email, n.recipient.role) for n in notices.notices(repo, DAY_B)}
    # the follow-up goes to the secondary focal point, the escalation to the signatory
    assert ("request-escalation", "REQ-2026-001-UNICEF", "sign.unicef@example.org", "signatory") in later
    assert not any(k == "request-follow-up" and r != "secondary" for k, _, _, r in later)
    assert ("breach-escalation", "BR-2026-001", "sign.jrf@example.org", "signatory") in later
    assert any(k == "meeting-due" and s == "task-force-2026-02" for k, s, _, _ in later)


def test_every_kind_sent_exactly_once_with_starttls_and_auth_and_no_figure(repo: Path, smtp: Smtp) -> None:
    for day in days(repo):
        for _ in range(2):
            result = notify(repo, day, smtp.env, "--send")
            assert result.code == 0, result.err
    ids = smtp.box.ids()
    assert len(ids) == len(set(ids)), "a message was sent twice"
    assert {i.split("/")[0] for i in ids} == set(notices.KINDS)
    logged = [json.loads(line)["id"] for line in (repo / delivery.SENT_LOG).read_text().splitlines()]
    assert sorted(logged) == sorted(ids)
    for message in smtp.box.messages:
        raw = message.as_bytes()
        assert canaries.find(raw, CANARIES) == [], notice_id(message)
        for part in message.walk():
            if part.get_content_maintype() == "text":
                text = part.get_content()
                assert canaries.find(text, CANARIES) == [], notice_id(message)
                assert part.get_content_subtype() != "plain" or not mail.figures_in(text)
    withheld = [m for m in smtp.box.messages if notice_id(m).startswith(("denial-reason", "suspension"))]
    assert withheld and all(notices.WITHHELD in m.get_body(("plain",)).get_content() for m in withheld)  # type: ignore[union-attr]


def test_message_shape_languages_and_invitation(repo: Path, smtp: Smtp) -> None:
    assert notify(repo, DAY_A, smtp.env, "--send").code == 0
    by_id = {notice_id(m): m for m in smtp.box.messages}
    arabic = by_id["sheet-overdue/2026-02-NHF/focal.nhf@example.org/2026-03-08"]
    assert arabic.get_body(("plain",)) and arabic.get_body(("html",))
    html = arabic.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'dir="rtl"' in html and "جدول المتابعة" in html and "tracking sheet" in html
    english = by_id["sheet-overdue/2026-02-IMC/focal.imc@example.org/2026-03-08"]
    assert "جدول" not in english.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (invite,) = [p for p in english.iter_attachments() if p.get_content_type() == "text/calendar"]
    ics = invite.get_content()
    assert "DTSTART;VALUE=DATE:20260308" in ics
    ready = by_id["report-ready/2026-02/focal.irc@example.org/2026-03-10"]
    assert "https://isp.example.org/" in ready.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_server_down_then_up_delivers(repo: Path, smtp: Smtp) -> None:
    smtp.stop()
    down = notify(repo, DAY_A, smtp.env, "--send")
    assert down.code == 1
    assert (
        "cannot use the SMTP server 127.0.0.1" in down.err
        and "cannot reach it" in down.err
        and "due again next run" in down.err
    )
    assert len(down.err.strip().splitlines()) == 2  # one line why, one line how many
    assert "Traceback" not in down.err
    assert not (repo / delivery.SENT_LOG).exists()
    listed = json.loads(notify(repo, DAY_A, smtp.env, "--json").out)["notices"]
    smtp.start(int(str(smtp.env["ISP_SMTP_PORT"])), None)  # back up (plain, on this machine)
    env = {**smtp.env, "ISP_SMTP_SECURITY": "none", "ISP_SMTP_USER": None, "ISP_SMTP_PASSWORD": None}
    up = notify(repo, DAY_A, env, "--send")
    assert up.code == 0, up.err
    assert sorted(smtp.box.ids()) == sorted(n["id"] for n in listed)


def test_implicit_tls(repo: Path, smtp: Smtp) -> None:
    smtp.stop()
    smtp.start(int(str(smtp.env["ISP_SMTP_PORT"])), smtp.tls, implicit=True)
    result = notify(repo, DAY_A, {**smtp.env, "ISP_SMTP_SECURITY": "tls"}, "--send")
    assert result.code == 0, result.err
    assert smtp.box.messages


def test_a_refused_recipient_stays_due(repo: Path, smtp: Smtp) -> None:
    smtp.box.refuse = {"second.imc@example.org"}
    first = notify(repo, DAY_A, smtp.env, "--send")
    assert first.code == 1 and "refused the recipient (550" in first.err
    listed = json.loads(notify(repo, DAY_A, smtp.env, "--json").out)["notices"]
    refused = [n for n in listed if not n["sent_before"]]
    assert refused and all("second.imc@example.org" in n["to"] for n in refused)
    smtp.box.refuse = set()
    assert notify(repo, DAY_A, smtp.env, "--send").code == 0
    ids = smtp.box.ids()
    assert len(ids) == len(set(ids)) and {n["id"] for n in refused} <= set(ids)


def test_wrong_password_is_one_line(repo: Path, smtp: Smtp) -> None:
    result = notify(repo, DAY_A, {**smtp.env, "ISP_SMTP_PASSWORD": "wrong"}, "--send")
    assert result.code == 1 and "refused ISP_SMTP_USER / ISP_SMTP_PASSWORD" in result.err
    assert "Traceback" not in result.err and smtp.box.messages == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ISP_SMTP_HOST": "smtp.example.org", "ISP_SMTP_SECURITY": "none"}, "allowed only for a server on this"),
        ({"ISP_SMTP_HOST": "127.0.0.1", "ISP_SMTP_SECURITY": "ssl"}, "must be one of starttls, tls, none"),
        ({"ISP_SMTP_HOST": "", "ISP_SMTP_SECURITY": "starttls"}, "set ISP_SMTP_HOST and ISP_SMTP_FROM"),
        ({"ISP_SMTP_HOST": "127.0.0.1", "ISP_SMTP_USER": "u", "ISP_SMTP_PASSWORD": None}, "set both ISP_SMTP_USER"),
    ],
)
def test_settings_refused_with_one_line(repo: Path, env: dict[str, str | None], message: str) -> None:
    base: dict[str, str | None] = {"ISP_SMTP_FROM": "isp@example.org", "ISP_SMTP_USER": None, "ISP_SMTP_PASSWORD": None}
    result = notify(repo, DAY_A, {**base, **env}, "--send")
    assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1


def test_a_figure_in_a_message_is_refused() -> None:
    who = notices.Person("Rana Example", "focal.irc@example.org", "IRC", "primary")
    notice = notices.Notice("report-ready", "2026-02", date(2026, 3, 10), who, {"month": "7919", "link": ""})
    with pytest.raises(Exception, match="would carry a figure"):
        mail.render(notice, "isp@example.org")
    assert notices.clean(f"{CANARIES[2]} children") == notices.WITHHELD
    facts = {"month": "2026-02", "link": "", "organization": "<b>Institute</b>"}
    html = mail.render(notices.Notice("report-ready", "2026-02", date(2026, 3, 10), who, facts), "isp@example.org")
    assert "<b>" not in html.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert request_models.Request.model_fields["share_denial_reasons"].default is None


def test_the_scheduled_job_runs_no_pull_request_code() -> None:
    """remind.yml's notify job: scheduled or dispatched on the default branch only, least permissions."""
    import yaml

    from tests.helpers import REPO_ROOT

    doc = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "remind.yml").read_text(encoding="utf-8"))
    triggers = doc.get("on", doc.get(True))
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert doc["permissions"] == {}
    job = doc["jobs"]["notify"]
    assert job["if"] == "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    assert job["permissions"] == {"contents": "write"} and job["environment"] == "notifications"
    run = [s for s in job["steps"] if "isp notify --send" in s.get("run", "")]
    assert run and set(run[0]["env"]) >= {f"ISP_SMTP_{k}" for k in ("HOST", "PORT", "USER", "PASSWORD", "FROM")}
    assert all(s["with"]["persist-credentials"] is False for s in job["steps"] if "checkout" in s.get("uses", ""))


HOSTILE_NAME = 'Evil "Name", Jr <b>bold</b> <img src=x onerror="alert()"> [x](javascript:alert())'


def test_a_hostile_focal_point_name_stays_text_in_headers_and_html(repo: Path, smtp: Smtp) -> None:
    """A member renames IMC's primary focal point with quotes, a comma, tags and a link: the To
    header still holds one address under that display name and the HTML part shows the text."""
    path = repo / "protocol" / "agencies.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["agencies"]["IMC"]["focal_points"]["primary"]["name"] = HOSTILE_NAME
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert notify(repo, DAY_A, smtp.env, "--send").code == 0
    sent = [m for m in smtp.box.messages if m["To"].addresses[0].addr_spec == "focal.imc@example.org"]
    assert sent
    for message in sent:
        (address,) = message["To"].addresses
        assert address.display_name == HOSTILE_NAME
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "<img" not in html and "<b>" not in html and "&lt;img src=x" in html
        assert "\r" not in str(message["Subject"]) and "\n" not in str(message["Subject"])


def test_a_name_with_a_newline_or_an_escape_is_refused(repo: Path) -> None:
    """CR/LF would forge a header; ESC drives the terminal; U+202E shows one text and holds another."""
    path = repo / "protocol" / "agencies.yaml"
    clean = yaml.safe_load(path.read_text(encoding="utf-8"))
    for bad in ("Name\r\nBcc: all@example.org", "Name\x1b[2J", "Name\u202etxt.exe"):
        clean["agencies"]["IMC"]["focal_points"]["primary"]["name"] = bad
        path.write_text(yaml.safe_dump(clean, allow_unicode=True, sort_keys=False), encoding="utf-8")
        result = notify(repo, DAY_A, {}, "--json")
        assert result.code == 1 and "[unsafe-text]" in result.err + result.out, bad
        assert "focal_points.primary.name" in result.err + result.out
