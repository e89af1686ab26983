"""The GitHub workflows: actionlint and zizmor (offline) pass on every file, actions are pinned to
commit ids, no workflow a pull request can edit holds the CI key, the key-holding job is defined on
the default branch and reads the head as data, and MkDocs never shares a process with the key."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
BASE_SHA = "${{ github.event.pull_request.base.sha }}"
HEAD_SHA = "${{ github.event.pull_request.head.sha }}"


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is not installed (pip install the test extras)")
    return found


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return doc


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def test_there_are_workflows() -> None:
    assert WORKFLOWS / "pr.yml" in FILES


def test_actionlint_passes() -> None:
    proc = subprocess.run([tool("actionlint"), *map(str, FILES)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_passes() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_auditor_persona_passes_on_the_pull_request_workflow() -> None:
    """The workflow that holds the key meets zizmor's strictest persona too."""
    env = {**os.environ, "NO_COLOR": "1"}
    args = [tool("zizmor"), "--offline", "--no-progress", "--persona", "auditor"]
    args += [str(WORKFLOWS / "pr.yml"), str(WORKFLOWS / "pr-key.yml")]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_actions_are_pinned_to_commit_ids(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        for step in steps(job):
            if "uses" in step and not step["uses"].startswith("./"):
                assert PINNED.match(step["uses"]), f"{path.name}: job {name}: {step['uses']} is not pinned to a commit"
    for line in path.read_text().splitlines():
        if re.search(r"uses:\s*\S+@[0-9a-f]{40}", line):
            assert re.search(r"#\s*v\d", line), f"{path.name}: say which version a pin is: {line.strip()}"


# --- pr.yml: no secret, the base's tooling on the head's data ---------------------------------


@pytest.fixture(scope="module")
def pr() -> dict[str, Any]:
    return load(WORKFLOWS / "pr.yml")


def secret_jobs(pr: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: job for name, job in pr["jobs"].items() if "secrets." in yaml.safe_dump(job)}


def test_triggered_by_pull_request_only_with_least_permissions(pr: dict[str, Any]) -> None:
    assert set(pr["on"]) == {"pull_request"}
    assert pr["permissions"] == {}
    for job in pr["jobs"].values():
        assert job["permissions"] == {"contents": "read"}


def test_every_checkout_drops_the_token_and_the_head_keeps_its_history(pr: dict[str, Any]) -> None:
    for job in pr["jobs"].values():
        checkouts = [s for s in steps(job) if s.get("uses", "").startswith("actions/checkout@")]
        assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
        heads = [s for s in checkouts if s["with"].get("ref") == HEAD_SHA]
        assert len(heads) == 1 and heads[0]["with"]["fetch-depth"] == 0


def test_pr_yml_holds_no_secret_and_names_no_environment(pr: dict[str, Any]) -> None:
    assert secret_jobs(pr) == {} and "secrets." not in (WORKFLOWS / "pr.yml").read_text()
    assert all("environment" not in job for job in pr["jobs"].values())


def test_the_job_without_secrets_runs_for_forks_too(pr: dict[str, Any]) -> None:
    rules = pr["jobs"]["rules"]
    assert "if" not in rules and "secrets." not in yaml.safe_dump(rules)
    assert any(s.get("run", "").startswith("isp ci pr --repo pr ") for s in steps(rules))


# --- pr-key.yml: the key-holding job is defined on the default branch only -----------------------

RUN_HEAD = "${{ github.event.workflow_run.head_sha }}"
DEFAULT_BRANCH = "${{ github.event.repository.default_branch }}"


@pytest.fixture(scope="module")
def pr_key() -> dict[str, Any]:
    return load(WORKFLOWS / "pr-key.yml")


def test_no_pull_request_workflow_holds_a_secret_or_an_environment() -> None:
    """`on: pull_request` runs the branch's own workflow files: none of them may reach the key."""
    for path in FILES:
        doc = load(path)
        if "pull_request" in doc["on"] or "pull_request_target" in doc["on"]:
            for name, job in doc["jobs"].items():
                assert "secrets." not in yaml.safe_dump(job), f"{path.name}: {name}"
                assert "environment" not in job, f"{path.name}: {name}"
        assert "pull_request_target" not in doc["on"], path.name


def test_the_key_job_is_started_by_workflow_run_only(pr_key: dict[str, Any]) -> None:
    assert set(pr_key["on"]) == {"workflow_run"}
    assert pr_key["on"]["workflow_run"] == {"workflows": [load(WORKFLOWS / "pr.yml")["name"]], "types": ["completed"]}
    assert pr_key["permissions"] == {}
    assert list(pr_key["jobs"]) == ["content"]
    job = pr_key["jobs"]["content"]
    assert job["environment"] == "ci-key" and job["if"] == "github.event.workflow_run.event == 'pull_request'"
    assert job["permissions"] == {"contents": "read", "statuses": "write", "pull-requests": "read"}


def test_the_key_job_takes_its_pull_request_from_githubs_records(pr_key: dict[str, Any]) -> None:
    """The base is never chosen from the head: `isp ci pull-request` names the pull request from
    the event or the API, and the head is fetched by that pull request's ref and compared with
    the run's head_sha (tests/ci/test_pr_key.py runs these steps for real)."""
    job = pr_key["jobs"]["content"]
    find = next(s for s in steps(job) if s.get("id") == "pull")
    assert "isp ci pull-request" in find["run"] and find["env"]["HEAD_SHA"] == RUN_HEAD
    assert find["env"]["EVENT_PULLS"] == "${{ toJSON(github.event.workflow_run.pull_requests) }}"
    fetch = next(s for s in steps(job) if "fetch" in s.get("run", ""))
    assert fetch["env"]["HEAD_REF"] == "${{ steps.pull.outputs.head_ref }}"
    assert '[ "$fetched" != "$HEAD_SHA" ]' in fetch["run"]


def test_the_key_job_runs_the_default_branch_tooling_and_reads_the_head_as_data(pr_key: dict[str, Any]) -> None:
    job = pr_key["jobs"]["content"]
    checkouts = [s for s in steps(job) if s.get("uses", "").startswith("actions/checkout@")]
    assert [(s["with"]["ref"], s["with"]["path"]) for s in checkouts] == [
        (DEFAULT_BRANCH, "trusted"),
        (DEFAULT_BRANCH, "pr"),
    ]
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    runs = [s["run"] for s in steps(job) if "run" in s]
    assert [r for r in runs if "pip install" in r] == ["python -m pip install --disable-pip-version-check ./trusted"]
    fetch = next(s for s in steps(job) if "fetch" in s.get("run", ""))
    assert fetch["env"]["HEAD_SHA"] == RUN_HEAD and "checkout" not in fetch["run"] and "pip" not in fetch["run"]
    for command in runs:
        assert "${{" not in command, "expressions in run: invite injection; pass them through env"
        words = command.replace('"', " ").split()
        assert not any(w in ("make", "pre-commit", "tox", "nox", "source", ".", "./pr") for w in words), command
        assert not any(w.startswith("pr/") for w in words), command


def test_the_key_is_in_the_env_of_the_gate_step_only(pr_key: dict[str, Any]) -> None:
    job = pr_key["jobs"]["content"]
    holders = [s for s in steps(job) if "secrets." in yaml.safe_dump(s)]
    assert len(holders) == 1
    step = holders[0]
    assert step["run"] == 'isp ci pr --repo pr --base "origin/$BASE_REF" --head "$HEAD_SHA"'
    assert step["env"]["SOPS_AGE_KEY"] == "${{ secrets.SOPS_AGE_KEY }}" and step["env"]["HEAD_SHA"] == RUN_HEAD


def test_the_ci_key_environment_is_used_from_main_only() -> None:
    """pages.yml tells the coordinators to limit `ci-key` to main: every job naming it runs on the
    default branch (push to main, schedule, workflow_run), never on a pull request's ref."""
    for path in FILES:
        doc = load(path)
        for name, job in doc["jobs"].items():
            if job.get("environment") == "ci-key":
                assert set(doc["on"]) <= {"push", "schedule", "workflow_dispatch", "workflow_run"}, path.name
                if "push" in doc["on"]:
                    assert doc["on"]["push"]["branches"] == ["main"], f"{path.name}: {name}"


# --- pages.yml: MkDocs never shares a process with the key -----------------------------------------


def test_the_site_build_runs_mkdocs_in_a_process_without_the_key(isp_repo: Any, keyring: Any) -> None:
    """A page that is a link to /proc/self/environ (what a branch would try) shows MkDocs'
    environment: the CI key is not in it, nor anywhere in the built site."""
    from tests.helpers import isp

    assert isp("site", "credentials", "--repo", isp_repo.root).code == 0
    (isp_repo.root / "site" / "environ.md").symlink_to("/proc/self/environ")
    out = isp_repo.root / "public"
    env = {**os.environ, "SOPS_AGE_KEY": keyring.age_secret["ci"], "ISP_TODAY": "2025-06-20"}
    env.pop("SOPS_AGE_KEY_FILE", None)
    args = [sys.executable, "-m", "isp", "site", "build", "--repo", str(isp_repo.root), "--out", str(out)]
    subprocess.run(args, env=env, capture_output=True, check=False)  # a process started with the key, as in CI
    secret = keyring.age_secret["ci"]
    page = out / "environ" / "index.html"
    # a hand-written page is for the members (isp.site.hooks.page_level): read it as they would
    from isp.site import credentials
    from tests.helpers import patched_env
    from tests.site.helpers import decrypt_page

    with patched_env({"SOPS_AGE_KEY": secret, "SOPS_AGE_KEY_FILE": None}):
        members = credentials.load(isp_repo.root, isp_repo.load())["members"]
    content = decrypt_page(page.read_text(errors="replace"), members, user="members") if page.exists() else None
    assert content is not None and "PATH" in content  # the attack was live
    assert secret not in content and "SOPS_AGE_KEY" not in content
    for path in out.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
            assert b"SOPS_AGE_KEY" not in path.read_bytes(), path


def test_pages_builds_from_main_only() -> None:
    pages = load(WORKFLOWS / "pages.yml")
    assert "pull_request" not in pages["on"] and "workflow_run" not in pages["on"]
    build = pages["jobs"]["build"]
    assert build["if"] == "github.ref == 'refs/heads/main'"
    holders = [s for s in steps(build) if "secrets." in yaml.safe_dump(s)]
    assert [s["run"] for s in holders] == ["isp site build --strict --out public"]
