"""`isp request new|decide|status` against real git repositories with real SSH-signed commits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest
import yaml
from typer.testing import CliRunner

from isp.cli.main import app
from isp.errors import ValidationFailed
from isp.governance import request_files
from tests.governance.helpers import REQUIRED, approve_all, decide, fields, new, rules
from tests.helpers import IspRepo, git, isp

TODAY = {"ISP_TODAY": "2026-03-04"}
FLAGS = [
    "--organization", "A university", "--name", "Rana Example", "--position", "Researcher",
    "--contact", "rana@example.org", "--purpose", "Plan services", "--use", "An internal note",
    "--feedback", "Shared back with the group", "--guarantee", "Signed undertaking on file",
    "--report", "quarterly", "--periods", "2025-Q3, 2025-Q4", "--indicators", "caseload,new_cases",
    "--geography", "national",
]  # fmt: skip


def test_new_with_flags_writes_the_five_elements_and_numbers_the_requests(isp_repo: IspRepo) -> None:
    result = isp("request", "new", *FLAGS, "--repo", isp_repo.root, env=TODAY)
    assert result.code == 0, result.err
    data = yaml.safe_load((isp_repo.root / "requests" / "REQ-2026-001.yaml").read_text())
    assert data["requester"]["organization"] == "A university" and data["guarantee"] == "Signed undertaking on file"
    assert data["data"] == {"report": "quarterly", "periods": ["2025-Q3", "2025-Q4"],
                            "indicators": ["caseload", "new_cases"], "geography": ["national"]}  # fmt: skip
    assert data["issued"] == date(2026, 3, 4) and data["decisions"] == {}
    assert isp("request", "new", *FLAGS, "--repo", isp_repo.root, env=TODAY).code == 0
    assert (isp_repo.root / "requests" / "REQ-2026-002.yaml").exists()
    assert isp("request", "new", *FLAGS, "--id", "REQ-2026-002", "--repo", isp_repo.root, env=TODAY).code == 1


def test_new_prompts_for_what_is_missing(isp_repo: IspRepo) -> None:
    given = FLAGS[: FLAGS.index("--guarantee")] + FLAGS[FLAGS.index("--report") :]
    answers = "A written undertaking, signed\n"
    result = CliRunner().invoke(app, ["request", "new", *given, "--repo", str(isp_repo.root)], input=answers,
                                env=TODAY)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "written guarantee" in result.output
    assert request_files.load(isp_repo.root, "REQ-2026-001").guarantee == "A written undertaking, signed"


def test_new_help_marks_nothing_required_and_a_closed_input_names_what_is_missing(isp_repo: IspRepo) -> None:
    """--help marked every prompted option [required]; a closed input printed only "Aborted."."""
    helped = CliRunner().invoke(app, ["request", "new", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0 and "[required]" not in helped.output and "Asked for when not given" in helped.output
    given = FLAGS[: FLAGS.index("--guarantee")] + FLAGS[FLAGS.index("--periods") :]
    command = [sys.executable, "-m", "isp", "request", "new", *given, "--repo", str(isp_repo.root)]
    closed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=os.environ | TODAY)
    assert closed.returncode == 2 and "Aborted" not in closed.stderr and "Traceback" not in closed.stderr
    assert "missing --guarantee, --report: give them as options" in closed.stderr
    assert not list((isp_repo.root / "requests").glob("*.yaml"))


def test_a_request_naming_an_sgbv_indicator_is_warned_it_will_be_withheld(isp_repo: IspRepo) -> None:
    flags = list(FLAGS)
    flags[flags.index("--indicators") + 1] = "new_cases, concern"
    result = isp("request", "new", *flags, "--repo", isp_repo.root, env=TODAY)
    assert result.code == 0, result.err
    assert "[withheld] concern_sexual_violence (Sexual violence, asked as 'concern')" in result.err
    assert "will withhold it" in result.err
    plain = isp("request", "new", *FLAGS, "--repo", isp_repo.root, env=TODAY)
    assert plain.code == 0 and "withheld" not in plain.err


def test_an_incomplete_request_is_refused_and_nothing_is_written(isp_repo: IspRepo) -> None:
    flags = list(FLAGS)
    flags[flags.index("--guarantee") + 1] = " "
    flags[flags.index("--indicators") + 1] = "no_such_indicator"
    result = isp("request", "new", *flags, "--repo", isp_repo.root, env=TODAY)
    assert result.code == 1
    assert "[incomplete] guarantee is missing: the recipient's written guarantee" in result.err
    assert "'no_such_indicator' is neither an indicator nor a group" in result.err
    assert "Traceback" not in result.output
    assert not list((isp_repo.root / "requests").glob("*.yaml"))


def test_decide_usage_errors(isp_repo: IspRepo) -> None:
    new(isp_repo)
    root = isp_repo.root
    both = isp("request", "decide", "REQ-2026-001", "--agency", "IRC", "--approve", "--deny", "--repo", root)
    assert both.code == 2 and "exactly one" in both.err
    no_reason = isp("request", "decide", "REQ-2026-001", "--agency", "IRC", "--deny", "--repo", root)
    assert no_reason.code == 2 and "reason" in no_reason.err
    early = isp("request", "decide", "REQ-2026-001", "--agency", "IRC", "--approve", "--date", "2026-03-01",
                "--repo", root)  # fmt: skip
    assert early.code == 1 and "before the request was issued" in early.err
    assert isp("request", "decide", "REQ-2026-001", "--agency", "XYZ", "--approve", "--repo", root).code == 1
    assert isp("request", "decide", "REQ-2026-404", "--agency", "IRC", "--approve", "--repo", root).code == 1
    assert request_files.load(root, "REQ-2026-001").decisions == {}


def test_status_counts_only_signed_decisions_and_names_whom_to_contact(isp_repo: IspRepo) -> None:
    new(isp_repo)
    approve_all(isp_repo, "REQ-2026-001", but=("NHF", "UNICEF"))
    decide(isp_repo, "REQ-2026-001", "NHF", signer=None)  # unsigned: recorded, does not count
    request_files.decide(isp_repo.root, "REQ-2026-001", "UNICEF", True, None, date(2026, 3, 4))  # not committed
    result = isp(
        "request", "status", "REQ-2026-001", "--json", "--repo", isp_repo.root, env={"ISP_TODAY": "2026-03-09"}
    )
    assert result.code == 0, result.err
    st = json.loads(result.out)["requests"][0]
    agencies = {a["agency"]: a for a in st["agencies"]}
    assert st["state"] == "pending" and st["waiting_for"] == ["NHF", "UNICEF"]
    # Issued Mon 2 March; working days Tue 3, Wed 4, Thu 5, Sun 8, Mon 9: the follow-up is due.
    assert st["follow_up_on"] == "2026-03-09" and st["escalate_on"] == "2026-03-16"
    assert agencies["IRC"]["state"] == "approved" and agencies["IRC"]["counted"]
    assert agencies["NHF"]["state"] == "follow-up-due" and not agencies["NHF"]["counted"]
    assert agencies["NHF"]["contact"] == {"role": "secondary", "name": "Yousef Example",
                                          "email": "second.nhf@example.org"}  # fmt: skip
    assert "not in a commit signed by a focal point of NHF" in agencies["NHF"]["note"]
    assert "not committed" in agencies["UNICEF"]["note"]
    table = isp("request", "status", "--repo", isp_repo.root, env={"ISP_TODAY": "2026-03-16"})
    assert table.code == 0 and "REQ-2026" in table.out and "(signatory)" in table.out


def test_unanimous_signed_approval_is_approved_and_passes_the_check(isp_repo: IspRepo) -> None:
    base = new(isp_repo) and isp_repo.head()
    approve_all(isp_repo, "REQ-2026-001")
    st = request_files.status(isp_repo.root, "REQ-2026-001", date(2026, 3, 4))
    assert st.state == "approved" and not st.waiting_for()
    result = isp("request", "check", "--base", base, "--repo", isp_repo.root)
    assert result.code == 0, result.err
    assert "every decision and agreement attributable" in result.out


def test_decide_commit_signs_with_the_users_own_git(isp_repo: IspRepo) -> None:
    new(isp_repo)
    root, ring = isp_repo.root, isp_repo.keyring
    for key, value in (("user.email", "focal.jrf@example.org"), ("user.name", "Dana"), ("gpg.format", "ssh"),
                       ("user.signingkey", str(ring.ssh["JRF:primary"]))):  # fmt: skip
        git(root, "config", key, value)
    result = isp("request", "decide", "REQ-2026-001", "--agency", "JRF", "--deny", "--reason", "Too detailed",
                 "--commit", "--repo", root, env=TODAY)  # fmt: skip
    assert result.code == 0, result.err
    assert git(root, "status", "--porcelain").strip() == ""
    st = request_files.status(root, "REQ-2026-001", date(2026, 3, 4))
    assert st.state == "denied" and st.agency("JRF").reason == "Too detailed" and st.agency("JRF").counted


def test_commit_without_a_signing_key_is_a_clear_error(isp_repo: IspRepo) -> None:
    new(isp_repo)
    git(isp_repo.root, "config", "gpg.format", "ssh")
    git(isp_repo.root, "config", "user.signingkey", str(isp_repo.root / "no-such-key"))
    result = isp("request", "decide", "REQ-2026-001", "--agency", "IRC", "--approve", "--commit",
                 "--repo", isp_repo.root, env=TODAY)  # fmt: skip
    assert result.code == 1 and "git commit -S` failed" in result.err and "Traceback" not in result.output
    assert request_files.load(isp_repo.root, "REQ-2026-001").decisions["IRC"].decision == "approve"


def test_record_release_appends_to_the_request(isp_repo: IspRepo) -> None:
    new(isp_repo)
    approve_all(isp_repo, "REQ-2026-001")
    release = request_files.record_release(isp_repo.root, "REQ-2026-001", "REL-1", day=date(2026, 3, 5),
                                      recipient="Rami Example, A regional research institute",
                                      files={"table.csv": "ab" * 32})  # fmt: skip
    assert release.id == "REL-1"
    text = (isp_repo.root / "requests" / "REQ-2026-001.yaml").read_text()
    assert text.startswith("# An external data request")  # comments survive the round trip
    assert request_files.load(isp_repo.root, "REQ-2026-001").releases[0].files == {"table.csv": "ab" * 32}
    isp_repo.commit("Release REL-1", signer="UNHCR:primary")
    assert rules(request_files.check(isp_repo.root)) == set()


def test_status_outside_git_counts_nothing(tmp_path) -> None:
    root = tmp_path / "plain"
    assert isp("init", root).code == 0
    git(root, "rev-parse", "--git-dir")  # init makes a repository without commits
    request_files.new_request(root, fields())
    request_files.decide(root, "REQ-2026-001", "IRC", True, None, date(2026, 3, 3))
    st = request_files.status(root, "REQ-2026-001", date(2026, 3, 4))
    assert st.state == "pending" and "cannot be verified" in st.agency("IRC").note


def test_all_requests_lists_every_problem(isp_repo: IspRepo) -> None:
    new(isp_repo)
    (isp_repo.root / "requests" / "REQ-2026-009.yaml").write_text("id: REQ-2026-009\ntype: rumour\n")
    result = isp("request", "status", "REQ-2026-009", "--repo", isp_repo.root)
    assert result.code == 1 and "type" in result.err and "Traceback" not in result.output
    assert len(request_files.request_ids(isp_repo.root)) == 2
    assert set(REQUIRED) == set(isp_repo.load().data_gathering())


def test_status_for_the_requester_gives_a_denials_reason_without_the_agency(isp_repo: IspRepo) -> None:
    """The coordinators may pass a refusal's explanation on, with no agency named."""
    new(isp_repo)
    approve_all(isp_repo, "REQ-2026-001", but=("JRF",))
    decide(isp_repo, "REQ-2026-001", "JRF", approve=False, reason="JRF thinks the camp tables are too small.")
    env = {"ISP_TODAY": "2026-03-10"}
    result = isp("request", "status", "REQ-2026-001", "--for-requester", "--repo", isp_repo.root, env=env)
    assert result.code == 0, result.err
    assert "denied" in result.out and "the camp tables are too small" in result.out
    assert "JRF" not in result.out and "Jordan River" not in result.out
    kept = isp("request", "status", "REQ-2026-001", "--for-requester", "--without-reasons", "--repo", isp_repo.root,
               env=env)  # fmt: skip
    assert "camp tables" not in kept.out and "may share the reasons" in kept.out


MARKUP = "[link=https://evil.example]Click[/link] [bold red]URGENT[/] [/]"


def test_record_text_is_printed_as_text_not_rich_markup(isp_repo: IspRepo) -> None:
    """A requester organisation holding rich markup (a hyperlink, a style, a stray closing tag that
    made rich raise) is printed as written by `isp request status`."""
    requester = fields()["requester"] | {"organization": MARKUP}
    new(isp_repo, requester=requester)
    from isp.cli import output

    wide = output.console._width  # rich reads COLUMNS once, at import: widen this console itself
    output.console.width = 400
    try:
        table = isp("request", "status", "--repo", isp_repo.root, env={"ISP_TODAY": "2026-03-16"})
    finally:
        output.console._width = wide
    assert table.code == 0, table.err
    assert "[link=https://evil.example]Click[/link]" in table.out and "[bold red]URGENT[/]" in table.out


def test_control_and_bidi_characters_in_a_request_are_refused(isp_repo: IspRepo) -> None:
    """ESC (terminal escapes), CR (header forging) and U+202E (reads one way, holds another) are
    refused with the unsafe-text rule; newlines stay allowed where text is meant to span lines."""
    for field_name, value in (("purpose", "Plan\x1b]8;;https://evil.example\x07"), ("purpose", "Plan\u202e"),
                              ("feedback", "Shared\rBack"), ("id", "REQ-2026-001\n")):  # fmt: skip
        with pytest.raises(ValidationFailed) as caught:
            request_files.new_request(isp_repo.root, fields(**{field_name: value}))
        assert [p.rule for p in caught.value.problems] == ["unsafe-text"], value
    request_files.new_request(isp_repo.root, fields(purpose="Plan the year.\nThen review it."))
