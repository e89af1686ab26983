"""Which pull request a ``workflow_run`` judges, from GitHub's records only (pr-key.yml).

A ``workflow_run`` event names the head commit (``head_sha``) but not reliably its pull request:
``workflow_run.pull_requests`` lists only pull requests whose head branch lives in this
repository, so it is empty for forks. The base the head is judged against must never come from
anything the head controls (its branch name, its files, its commit messages). So:

1. the event's own ``pull_requests`` entries whose head is ``head_sha``; else
2. GitHub's list of pull requests for that commit (``GET /repos/R/commits/SHA/pulls``, read with
   the job's read-only token): open ones whose head is ``head_sha`` and whose base is this
   repository.

Deny by default: no such pull request, or none into the default branch, is a refusal (a failing
status). A pull request into another branch is not judged with the key: that branch's signers,
protocol and recipients are whatever was pushed to it, not the default branch's reviewed ones,
and the ``ci-key`` environment serves the default branch only. Retarget it to the default branch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isp.errors import IspError

_SHA = re.compile(r"^[0-9a-f]{40}$")
_REF = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class PullRequest:
    number: int
    base_ref: str

    @property
    def head_ref(self) -> str:
        """Where GitHub keeps the head of every pull request, forks included."""
        return f"refs/pull/{self.number}/head"

    def outputs(self) -> str:
        """Lines for ``$GITHUB_OUTPUT``."""
        return f"number={self.number}\nbase_ref={self.base_ref}\nhead_ref={self.head_ref}\n"


def _get(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _parse(node: Any) -> PullRequest | None:
    number, base_ref = _get(node, "number"), _get(node, "base", "ref")
    if type(number) is not int or number < 1 or not isinstance(base_ref, str) or not _REF.match(base_ref):
        return None
    return PullRequest(number, base_ref)


def candidates(head_sha: str, repository: str, event: list[Any], api: list[Any]) -> list[PullRequest]:
    """Pull requests whose head is ``head_sha``: the event's, else the API's open ones into
    ``repository`` (owner/name)."""
    found = [_parse(p) for p in event if _get(p, "head", "sha") == head_sha]
    if not any(found):
        found = [
            _parse(p)
            for p in api
            if _get(p, "state") == "open"
            and _get(p, "head", "sha") == head_sha
            and str(_get(p, "base", "repo", "full_name") or "").lower() == repository.lower()
        ]
    return sorted((p for p in found if p is not None), key=lambda p: p.number)


def choose(head_sha: str, default_branch: str, repository: str, event: list[Any], api: list[Any]) -> PullRequest:
    """The one pull request to judge (see the module doc); IspError when there is none."""
    if not _SHA.match(head_sha):
        raise IspError(f"head_sha '{head_sha[:60]}' is not a commit id")
    found = candidates(head_sha, repository, event, api)
    if not found:
        raise IspError(
            f"no open pull request of {repository} has head {head_sha[:10]}: nothing to judge, refused "
            "(deny by default; re-run once the pull request is open)"
        )
    into_default = [p for p in found if p.base_ref == default_branch]
    if not into_default:
        others = ", ".join(f"#{p.number} into {p.base_ref}" for p in found)
        raise IspError(
            f"{others}: only pull requests into {default_branch} are judged with the CI key, refused "
            f"(retarget the pull request to {default_branch})"
        )
    return into_default[0]


def read_list(path: Path | None) -> list[Any]:
    """A JSON list from a file GitHub wrote (the event, an API answer); empty when absent or null."""
    if path is None or not path.exists():
        return []
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise IspError(f"{path}: over {MAX_BYTES} bytes")
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise IspError(f"{path}: not JSON ({exc})") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise IspError(f"{path}: not a JSON list")
    return data
