"""Trust files have owners.

* ``keys and signers`` (``protocol/allowed_signers``, ``.sops.yaml``, ``.github/CODEOWNERS``) are
  never written by hand: at the head they must equal what ``isp keys sync`` generates from the
  head's ``protocol/agencies.yaml`` (``trust-file-not-generated``). The agencies.yaml change behind
  them is judged by who signed it (an agency's focal points, keys and recipients change only in its
  own signed commits: :mod:`isp.governance.membership`), so a new key reaches the signer list only
  through its owner's signature.
* ``site credentials`` (``protocol/site-credentials.yaml``) change only in commits signed by a
  focal point of a coordinating agency (``site-credentials-signer``): its recipients are public,
  so anyone could otherwise encrypt passphrases of their choosing.
* A valid signature beside another person's name is flagged: the committer of a signed commit is
  the signer (``forged-identity``); an author other than the signer is a warning.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from isp import errors, yamlfiles
from isp.ci.report import Context, OwnChanges
from isp.crypto import keys
from isp.errors import IspError
from isp.history import git
from isp.history.provenance import CommitInfo
from isp.protocol import loading
from isp.protocol import models as protocol

GENERATED = {
    keys.ALLOWED_SIGNERS: keys.allowed_signers,
    keys.SOPS_CONFIG: keys.sops_config,
    keys.CODEOWNERS: keys.codeowners,
}
AGENCIES = "protocol/agencies.yaml"
SYNC_FIX = "run `isp keys sync` and commit what it writes; change protocol/agencies.yaml, never these files"


def head_protocol(root: Path, head: str) -> protocol.Isp:
    """protocol/ at the head, from its four YAML files only, each through the bounded reader
    (loaded from a private temp copy that is gone when this returns)."""
    specs = [f"{head}:protocol/{name}" for name in loading.PROTOCOL_FILES]
    found = git.read_many(root, specs)
    with tempfile.TemporaryDirectory(prefix="isp-head-") as folder:
        target = Path(folder) / "protocol"
        target.mkdir()
        for spec, data in found.items():
            name = spec.rsplit("/", 1)[1]
            if data is None:
                raise IspError(f"protocol/{name}: missing at the head")
            yamlfiles.load(data, f"protocol/{name}")
            (target / name).write_bytes(data)
        return loading.load(Path(folder), check=False)


@contextlib.contextmanager
def generated_protocol(ctx: Context, changed: set[str]) -> Iterator[protocol.Isp | None]:
    """Check the three generated trust files against the head's agencies.yaml; yield the head's
    protocol when they match and something in them changed (re-wraps may then use its
    recipients), else None."""
    if not changed & {*GENERATED, AGENCIES}:
        yield None
        return
    for path in sorted(changed & {AGENCIES, keys.ALLOWED_SIGNERS, keys.SOPS_CONFIG}):
        ctx.notice(path, "changes who may sign or who may decrypt: every coordinator must review", True)
    try:
        isp = head_protocol(ctx.root, ctx.head)
    except IspError as exc:
        ctx.violation(AGENCIES, errors.PROTOCOL_UNREADABLE, reason=exc)
        yield None
        return
    yield isp if _generated_match(ctx, isp) else None


def _generated_match(ctx: Context, isp: protocol.Isp) -> bool:
    found = git.read_many(ctx.root, [f"{ctx.head}:{path}" for path in GENERATED])
    good = True
    for path, make in GENERATED.items():
        have = found.get(f"{ctx.head}:{path}")
        if have is None or have.decode("utf-8", "replace") != make(isp):
            good = False
            ctx.violation(path, errors.TRUST_FILE_NOT_GENERATED, fix=SYNC_FIX)
    return good


def check_site_credentials(ctx: Context, infos: dict[str, CommitInfo], own: OwnChanges) -> None:
    """Every commit that touches the site credentials is signed by a coordinator."""
    coordinators = ctx.isp.coordinators()
    for sha, paths in own.items():
        if not any(p == keys.SITE_CREDENTIALS for _, p in paths):
            continue
        info = infos[sha]
        if not (info.verified and info.agency in coordinators):
            ctx.violation(
                keys.SITE_CREDENTIALS,
                errors.SITE_CREDENTIALS_SIGNER,
                fix="a coordinator runs `isp site credentials` and commits it signed (-S)",
                sha=sha[:10],
                join=", ".join(coordinators),
            )


def committers(root: Path, shas: list[str]) -> dict[str, tuple[str, str, str, str]]:
    """sha -> (author name, author e-mail, committer name, committer e-mail)."""
    if not shas:
        return {}
    out = git.run(root, "log", "--no-walk=unsorted", "-z", "--format=%H%x01%an%x01%ae%x01%cn%x01%ce", *shas)
    found = {}
    for record in out.decode("utf-8", "replace").strip("\x00\n").split("\x00"):
        fields = record.strip("\n").split("\x01")
        if len(fields) == 5:
            found[fields[0]] = (fields[1], fields[2], fields[3], fields[4])
    return found


def check_identities(ctx: Context, infos: dict[str, CommitInfo], shas: list[str]) -> None:
    """A signed commit whose committer (or author) claims to be someone other than its signer."""
    verified = [sha for sha in shas if infos[sha].verified]
    for sha, (_an, author, _cn, committer) in committers(ctx.root, verified).items():
        signer = (infos[sha].principal or "").casefold()
        if committer.casefold() != signer:
            ctx.violation(
                f"commit {sha[:10]}",
                errors.FORGED_IDENTITY,
                fix="commit under your own name and e-mail (git config user.email), signed with your own key",
                signer=infos[sha].principal,
                committer=committer,
            )
        elif author.casefold() != signer:
            ctx.warning(f"commit {sha[:10]}", errors.AUTHOR_NOT_SIGNER, signer=infos[sha].principal, author=author)
