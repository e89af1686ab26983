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
* A valid signature beside another person's identity is refused: the committer of a signed commit
  is the signer by e-mail (``forged-identity``), and every name beside a declared e-mail is that
  person's name in the base's agencies.yaml, compared after Unicode NFKC normalisation and
  case-folding: another declared person's name is refused (``forged-name``), an undeclared name is
  a warning (``name-not-declared``), and so is an author other than the signer.
"""

from __future__ import annotations

import contextlib
import tempfile
import unicodedata
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


def normal_name(name: str) -> str:
    """A name as compared: Unicode NFKC, case-folded, runs of white space as one space."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def declared_names(isp: protocol.Isp) -> dict[str, str]:
    """e-mail (lower case) -> name, for everyone agencies.yaml declares (focal points, signatories)."""
    return {fp.email.lower(): fp.name for agency in isp.agencies.values() for _, fp in agency.people()}


def _check_name(ctx: Context, where: str, who: str, name: str, email: str, signer: str) -> None:
    """The name beside ``email`` is that person's declared name. Another declared person's name is
    a forgery (``forged-name``); a name nobody declared is flagged (``name-not-declared``)."""
    named = declared_names(ctx.isp)
    expected = named.get(email.lower())
    if expected is not None and normal_name(name) == normal_name(expected):
        return
    owner = next((e for e, n in named.items() if normal_name(n) == normal_name(name)), None)
    if owner is not None:
        whose = f"signed by {signer}" + (f" for {email}" if email.lower() != signer.lower() else "")
        ctx.violation(where, errors.FORGED_NAME, who=who, name=name, owner=owner, whose=whose)
    elif expected is not None:
        ctx.warning(where, errors.NAME_NOT_DECLARED, who=who, name=name, expected=expected, email=email)


def check_identities(ctx: Context, infos: dict[str, CommitInfo], shas: list[str]) -> None:
    """A signed commit whose committer (or author) claims to be someone other than its signer: by
    e-mail (the committer's must be the signer's), and by name (the name beside a declared e-mail
    must be that person's name in the base's agencies.yaml, never another declared person's)."""
    verified = [sha for sha in shas if infos[sha].verified]
    for sha, (author_name, author, committer_name, committer) in committers(ctx.root, verified).items():
        signer, where = infos[sha].principal or "", f"commit {sha[:10]}"
        if committer.casefold() != signer.casefold():
            ctx.violation(
                where,
                errors.FORGED_IDENTITY,
                fix="commit under your own name and e-mail (git config user.email), signed with your own key",
                signer=signer,
                committer=committer,
            )
            continue
        _check_name(ctx, where, "committer", committer_name, committer, signer)
        if author.casefold() != signer.casefold():
            ctx.warning(where, errors.AUTHOR_NOT_SIGNER, signer=signer, author=author)
        _check_name(ctx, where, "author", author_name, author, signer)
