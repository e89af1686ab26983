"""The GitHub workflows: actionlint and zizmor (offline) pass on every file, actions are pinned to
commit ids, and the pull-request job that holds the CI key never runs the head's code."""

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

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
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
    proc = subprocess.run([tool("actionlint"), *map(str, FILES)], capture_output=True, text=True, cwd=ROOT)
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
    args = [tool("zizmor"), "--offline", "--no-progress", "--persona", "auditor", str(WORKFLOWS / "pr.yml")]
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


# --- pr.yml: the job with the secret runs the base's tooling only ---------------------------------


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


def test_the_secret_job_runs_the_base_commits_tooling_never_the_heads(pr: dict[str, Any]) -> None:
    jobs = secret_jobs(pr)
    assert list(jobs) == ["content"]
    job = jobs["content"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    checkouts = {s["with"]["ref"]: s["with"]["path"] for s in steps(job) if "actions/checkout@" in s.get("uses", "")}
    assert checkouts == {BASE_SHA: "trusted", HEAD_SHA: "pr"}
    runs = [s["run"] for s in steps(job) if "run" in s]
    installs = [r for r in runs if "pip install" in r]
    assert installs == ["python -m pip install --disable-pip-version-check ./trusted"]
    for command in runs:
        words = command.replace('"', " ").split()
        assert "${{" not in command, "expressions in run: invite injection; pass them through env"
        assert not any(re.search(r"(^|[./])pr(/|$)", w) for w in words if w != "pr"), command
        assert not any(w in ("make", "pre-commit", "tox", "nox", "bash", "sh", "source", ".") for w in words), command
    isp_steps = [s for s in steps(job) if s.get("run", "").startswith("isp ci pr --repo pr ")]
    assert len(isp_steps) == 1


def test_the_secret_is_only_in_the_env_of_the_step_that_needs_it(pr: dict[str, Any]) -> None:
    assert "secrets." not in yaml.safe_dump({k: v for k, v in pr.items() if k != "jobs"})
    for name, job in pr["jobs"].items():
        assert "secrets." not in yaml.safe_dump({k: v for k, v in job.items() if k != "steps"}), name
        holders = [s for s in steps(job) if "secrets." in yaml.safe_dump(s)]
        for step in holders:
            assert set(step) >= {"env", "run"} and step["run"].startswith("isp ci pr ")
            assert step["env"]["SOPS_AGE_KEY"] == "${{ secrets.SOPS_AGE_KEY }}"
            assert "secrets." not in step["run"]
        assert len(holders) == (1 if name == "content" else 0)


def test_the_job_without_secrets_runs_for_forks_too(pr: dict[str, Any]) -> None:
    rules = pr["jobs"]["rules"]
    assert "if" not in rules and "secrets." not in yaml.safe_dump(rules)
    assert any(s.get("run", "").startswith("isp ci pr --repo pr ") for s in steps(rules))
