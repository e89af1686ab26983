"""Which months were revised: submitted more than once by the agency itself.

Counting every commit that touched a submission would also count re-encryptions (``isp keys
sync`` re-wraps every file when a member's key is added), which change the ciphertext, not the
figures; those commits are made by CI or a coordinator. So a version counts only when its commit
carries a good signature of one of the submitting agency's own focal points (contract B), checked
against the allowed-signers file of HEAD.

Signature checks run ``ssh-keygen`` once per commit; their results are kept in .git/ by commit
and by allowed-signers file (a commit never changes), so a run checks only the new commits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from isp.errors import IspError
from isp.fsutil import write_text_atomic

CACHE = ".git/isp-consolidate-signers.json"
Key = tuple[str, str]  # (agency, month)


def revised(root: Path) -> tuple[set[Key], bool]:
    """The (agency, month) submissions revised by their agency, and whether history was readable."""
    try:
        from isp.history import provenance

        commits = provenance.submission_commits(root)
        signers = provenance.allowed_signers_at(root, "HEAD")
        agency_of = _signing_agencies(root, sorted({s for shas in commits.values() for s in shas}), signers)
    except (ImportError, AttributeError, IspError):
        return set(), False
    own = {key: sum(agency_of.get(sha) == key[0] for sha in shas) for key, shas in commits.items()}
    return {key for key, count in own.items() if count > 1}, True


def _signing_agencies(root: Path, shas: list[str], signers: str) -> dict[str, str | None]:
    """Commit -> the agency whose focal point signed it (None: unsigned, unknown or bad)."""
    from isp.history import provenance

    digest = hashlib.sha256(signers.encode()).hexdigest()
    cache = _load(root, digest)
    todo = [sha for sha in shas if sha not in cache]
    for sha, info in provenance.verify(root, todo, signers).items():
        cache[sha] = info.agency if info.verified else None
    _save(root, digest, cache)
    return cache


def _load(root: Path, digest: str) -> dict[str, str | None]:
    path = root / CACHE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = isinstance(doc, dict) and doc.get("signers") == digest and isinstance(doc.get("commits"), dict)
    return dict(doc["commits"]) if ok else {}


def _save(root: Path, digest: str, cache: dict[str, str | None]) -> None:
    if not (root / ".git").is_dir():
        return
    with contextlib.suppress(OSError):  # a cache: losing it costs time, never correctness
        write_text_atomic(root / CACHE, json.dumps({"signers": digest, "commits": cache}, sort_keys=True))
