"""pr-key.yml's own steps, run for real on a pull request from a fork.

GitHub keeps every pull request's head at ``refs/pull/N/head`` of the base repository, forks
included. Here the base repository is a real bare repository, the fork a second real repository
that pushes its branch there as GitHub would, and main moves on after the branch point. The
workflow's "find the pull request" and "fetch the head" steps are taken from pr-key.yml and run
with bash as the runner runs them (``bash -eo pipefail``); only the GitHub API is a stand-in (a
``gh`` script that prints a recorded answer), since it cannot run here. Then `isp ci pr` judges the
fetched head as the gate step does: the pull request's own changes, by the tip's signers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from isp.crypto import keys
from tests.helpers import REPO_ROOT, IspRepo, Keyring, Result, git, isp, new_ssh_key, write_submission

TODAY = "2025-06-20"
REPOSITORY = "jordan-cp/isp"
NUMBER = 7
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "pr-key.yml"


def step(name_starts: str) -> dict[str, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    found = [s for s in doc["jobs"]["content"]["steps"] if s.get("name", "").startswith(name_starts)]
    assert len(found) == 1, name_starts
    return found[0]


def run_step(name_starts: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One `run:` step of pr-key.yml, as the runner runs it, with its `env:` filled in by hand."""
    script = step(name_starts)["run"]
    tools = f"{cwd / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    full = {**os.environ, "PATH": tools, "PYTHONPATH": str(REPO_ROOT / "scripts"), **env}
    args = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    return subprocess.run(args, cwd=cwd, env=full, capture_output=True, text=True, check=False)


@dataclass
class Scene:
    """The base repository (bare, as GitHub holds it), main's working clone, the fork."""

    work: Path
    upstream: Path
    main: IspRepo
    fork: IspRepo
    head: str
    branch_point: str


def _fake_gh(work: Path, answer: list[dict[str, Any]]) -> None:
    """The GitHub API cannot run here: `gh api` prints a recorded answer instead."""
    (work / "bin").mkdir(exist_ok=True)
    (work / "api-answer.json").write_text(json.dumps(answer))
    gh = work / "bin" / "gh"
    gh.write_text(f"#!/bin/sh\ncat '{work / 'api-answer.json'}'\n")
    gh.chmod(0o755)


def _api_pull(number: int, head: str, base_ref: str = "main", state: str = "open") -> dict[str, Any]:
    """The fields of one entry of GET /repos/R/commits/SHA/pulls that the workflow reads."""
    return {
        "number": number,
        "state": state,
        "head": {"sha": head, "ref": "irc-march", "repo": {"full_name": "someone/isp-fork"}},
        "base": {"ref": base_ref, "sha": "0" * 40, "repo": {"full_name": REPOSITORY}},
    }


@pytest.fixture
def scene(isp_repo: IspRepo, tmp_path: Path) -> Scene:
    """main registers a second IRC signing key and changes UNICEF's roles after the branch point;
    the fork's branch, started before both, adds IRC's March sheet signed with the new key."""
    work = tmp_path / "github"
    work.mkdir()
    branch_point = isp_repo.head()
    upstream = work / "upstream.git"
    git(work, "clone", "-q", "--bare", str(isp_repo.root), str(upstream))
    rotated = new_ssh_key(tmp_path / "keys", "irc-rotated")
    ring = Keyring(isp_repo.keyring.folder, isp_repo.keyring.age_secret, isp_repo.keyring.age_public,
                   {**isp_repo.keyring.ssh, "IRC:rotated": rotated})  # fmt: skip
    main = replace(isp_repo, keyring=ring)
    keys.add_signer(main.root, "IRC", main.email("IRC"), Path(f"{rotated}.pub"))
    keys.sync(main.root)
    main.commit("IRC: a second signing key", signer="IRC:primary")
    agencies = main.root / "protocol" / "agencies.yaml"
    agencies.write_text(
        agencies.read_text().replace("roles: [data_gathering, technical_support]", "roles: [technical_support]")
    )
    main.commit("UNICEF stops gathering data (approved elsewhere)", signer="UNHCR:primary")
    git(main.root, "push", "-q", str(upstream), "main")
    fork = IspRepo(work / "fork", ring)
    git(work, "clone", "-q", str(upstream), str(fork.root))
    git(fork.root, "checkout", "-q", "-b", "irc-march", branch_point)
    write_submission(fork, "IRC", "2025-03")
    head = fork.commit("IRC: March", signer="IRC:rotated", email=fork.email("IRC"))
    git(fork.root, "push", "-q", str(upstream), f"irc-march:refs/pull/{NUMBER}/head")  # what GitHub does
    git(work, "clone", "-q", str(upstream), str(work / "pr"))  # actions/checkout of main, fetch-depth 0
    return Scene(work, upstream, main, fork, head, branch_point)


def _find(scene: Scene, event: list[dict[str, Any]], answer: list[dict[str, Any]]) -> tuple[int, dict[str, str]]:
    _fake_gh(scene.work, answer)
    output = scene.work / "github-output"
    output.write_text("")
    env = {
        "GH_TOKEN": "not-a-token",
        "REPO": REPOSITORY,
        "HEAD_SHA": scene.head,
        "DEFAULT_BRANCH": "main",
        "EVENT_PULLS": json.dumps(event),
        "RUNNER_TEMP": str(scene.work),
        "GITHUB_OUTPUT": str(output),
    }
    proc = run_step("Find the pull request", scene.work, env)
    lines = [ln.split("=", 1) for ln in output.read_text().splitlines() if "=" in ln]
    return proc.returncode, {k: v for k, v in lines}


def _fetch(scene: Scene, head_ref: str) -> subprocess.CompletedProcess[str]:
    env = {"HEAD_SHA": scene.head, "HEAD_REF": head_ref, "FETCH_TOKEN": "not-a-token"}
    return run_step("Fetch the pull request's head", scene.work, env)


def _gate(scene: Scene, key: bool) -> Result:
    env: dict[str, str | None] = {"ISP_TODAY": TODAY}
    if key:
        env.update(scene.main.keyring.env("ci"))
    args: list[str | Path] = ["ci", "pr", "--repo", scene.work / "pr", "--base", "origin/main"]
    args += ["--head", scene.head, "--json"]
    return isp(*args, env=env)


def test_a_fork_is_found_through_the_api_and_fetched_by_its_pull_ref(scene: Scene) -> None:
    """The event lists no pull request for a fork: the API's answer names it; the head is fetched
    from refs/pull/7/head, objects only, and the gate judges it."""
    code, outputs = _find(scene, [], [_api_pull(NUMBER, scene.head)])
    assert code == 0 and outputs == {"number": "7", "base_ref": "main", "head_ref": "refs/pull/7/head"}
    fetched = _fetch(scene, outputs["head_ref"])
    assert fetched.returncode == 0, fetched.stderr
    assert git(scene.work / "pr", "rev-parse", "refs/isp/pr-head").strip() == scene.head
    assert git(scene.work / "pr", "status", "--porcelain").strip() == ""  # nothing of the head checked out
    assert not (scene.work / "pr" / "submissions" / "IRC" / "2025-03.csv").exists()
    for key in (False, True):
        result = _gate(scene, key)
        assert result.code == 0, result.output


def test_a_pull_ref_that_moved_on_is_refused(scene: Scene) -> None:
    """The fork pushed again after the run started: refs/pull/7/head no longer names the run's
    head_sha, and the fetch step fails rather than judge another commit."""
    (scene.fork.root / "docs").mkdir(exist_ok=True)
    (scene.fork.root / "docs" / "note.md").write_text("one more change\n")
    scene.fork.commit("later", signer="IRC:primary")
    git(scene.fork.root, "push", "-q", "-f", str(scene.upstream), f"irc-march:refs/pull/{NUMBER}/head")
    fetched = _fetch(scene, f"refs/pull/{NUMBER}/head")
    assert fetched.returncode == 1 and "moved on" in fetched.stdout


@pytest.mark.parametrize(
    ("event", "answer", "why"),
    [
        ([], [], "no open pull request"),
        ([], [_api_pull(NUMBER, "SAME", state="closed")], "no open pull request"),
        ([], [_api_pull(NUMBER, "SAME", base_ref="release")], "only pull requests into main"),
        ([{"number": 3, "head": {"sha": "SAME"}, "base": {"ref": "release"}}], [], "only pull requests into main"),
    ],
    ids=["none", "closed", "other-branch-api", "other-branch-event"],
)
def test_no_open_pull_request_into_main_is_refused(scene: Scene, event: list[Any], answer: list[Any], why: str) -> None:
    fill = json.loads(json.dumps([event, answer]).replace("SAME", scene.head))
    code, outputs = _find(scene, *fill)
    assert code != 0 and outputs == {}


def test_the_event_names_a_same_repository_pull_request(scene: Scene) -> None:
    event = [{"number": 12, "head": {"sha": scene.head, "ref": "x"}, "base": {"ref": "main", "sha": "0" * 40}}]
    code, outputs = _find(scene, event, [])
    assert code == 0 and outputs["head_ref"] == "refs/pull/12/head"


def test_only_the_pull_requests_own_changes_are_judged_by_the_tips_signers(scene: Scene) -> None:
    """main moved on after the branch point (a new IRC key, UNICEF's roles): the gate diffs from
    the merge base, so main's changes are not the pull request's (no membership approval asked
    for UNICEF's roles), while the signature is checked with the tip's signer list (the key the
    branch point did not know verifies)."""
    code, outputs = _find(scene, [], [_api_pull(NUMBER, scene.head)])
    assert code == 0 and _fetch(scene, outputs["head_ref"]).returncode == 0
    result = _gate(scene, key=False)
    assert result.code == 0, result.output
    report = json.loads(result.out)
    assert [f["path"] for f in report["files"]] == ["submissions/IRC/2025-03.csv"]
    assert [(c["sha"], c["agency"], c["status"]) for c in report["commits"]] == [(scene.head, "IRC", "G")]
    tip = git(scene.work / "pr", "rev-parse", "origin/main").strip()
    assert report["base"] == tip != scene.branch_point
    # the branch point's signer list does not know the new key: judged by it, the commit fails
    old = isp("ci", "pr", "--repo", scene.work / "pr", "--base", scene.branch_point, "--head", scene.head, "--json",
              env={"ISP_TODAY": TODAY})  # fmt: skip
    assert "signature" in {v["rule"] for v in json.loads(old.out)["violations"]}


def test_the_workflow_runs_these_steps_in_this_order() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    names = [s.get("name", "") for s in doc["jobs"]["content"]["steps"]]
    order = ["Install the default branch", "Find the pull request", "Check out the default branch's history",
             "Fetch the pull request's head", "isp ci pr, with the CI key"]  # fmt: skip
    positions = [next(i for i, n in enumerate(names) if n.startswith(o)) for o in order]
    assert positions == sorted(positions)
    assert step("Fetch the pull request's head")["env"]["HEAD_REF"] == "${{ steps.pull.outputs.head_ref }}"
    assert shutil.which("bash")
