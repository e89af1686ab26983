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
* A commit that rotates CI's key (changes ``ci:`` in agencies.yaml, or which CI recipients an
  envelope carries) and in the same change adds, removes or replaces any other recipient (an
  agency's key in agencies.yaml, a stanza of an envelope) is refused unless a coordinator signed
  it, and even then unless every envelope it writes carries exactly the recipients, and its
  ``.sops.yaml`` is exactly what, ``isp keys sync`` generates from that commit's agencies.yaml
  (``ci-rotation-recipients``). A rotation re-wraps every file: without this, a stanza for a key
  nobody registered could ride along in an intermediate commit, stay readable in the history,
  and be gone again by the head.
* No commit is dated more than a day after the moment the gate runs (``commit-date``): the
  date a decision may state is bound to its signed commit's date, which its signer chooses, so a
  commit dated years ahead would carry a decision dated years ahead (after the breaches, denials
  and expiries it is judged against).
* The protocol's shared settings change only in commits signed by a coordinator
  (``protocol-settings``): ``activityinfo.yaml`` (its ``server`` is where ``isp activityinfo
  export --push`` sends each agency's figures, with its token), ``sites.yaml``, ``imports/``, and
  ``protocol.yaml`` but for ``sharing`` and ``disclosure`` (amendments: every signatory approves
  them in a record, :mod:`isp.governance.membership`). Comments are free: the data is compared.
* Meeting minutes (``protocol/meetings/``) are written only in commits signed by a coordinator or
  by a focal point that version lists under ``attended`` (``minutes-signer``): a meeting counts
  as held once its minutes are in, so anyone else could close a breach meeting's clock or put
  decisions in the mouths of agencies that were not there.
* The notification log (``protocol/notifications/sent.jsonl``) is written by ``isp notify`` on
  the default branch. A pull request may only append well-formed records to it, in commits
  signed by a coordinator (``notification-log``): a forged line with a message's id stops that
  reminder or breach notice from ever being sent, and a malformed one stops every run.
* Every version the pull request leaves at its head was written by one of its own commits
  (``unattributed-change``). A merge commit owns only what differs from all its parents: what it
  takes from a parent is judged where that parent made it. A parent from main's own history
  (an old commit, not the base's tip) is judged nowhere, so a merge of it could otherwise roll
  another agency's submission, a request or a trust file back to an old version with no signature
  of theirs.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from isp import errors, yamlfiles
from isp.ci.paths import Change
from isp.ci.report import Context, signer_label
from isp.crypto import keys
from isp.crypto import sops as crypto
from isp.errors import IspError
from isp.history import git
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


def check_site_credentials(ctx: Context) -> None:
    """Every commit that touches the site credentials is signed by a coordinator."""
    coordinators = ctx.isp.coordinators()
    for sha, paths in ctx.own.items():
        if not any(p == keys.SITE_CREDENTIALS for _, p in paths):
            continue
        if not ctx.by_coordinator(sha):
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


def check_identities(ctx: Context, shas: list[str]) -> None:
    """A signed commit whose committer (or author) claims to be someone other than its signer: by
    e-mail (the committer's must be the signer's), and by name (the name beside a declared e-mail
    must be that person's name in the base's agencies.yaml, never another declared person's)."""
    verified = [sha for sha in shas if ctx.infos[sha].verified]
    for sha, (author_name, author, committer_name, committer) in committers(ctx.root, verified).items():
        signer, where = ctx.infos[sha].principal or "", f"commit {sha[:10]}"
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


# --- CI-key rotations ----------------------------------------------------------------------------

_PROTOCOLS: dict[tuple[Path, str], protocol.Isp | None] = {}


def protocol_at(root: Path, rev: str) -> protocol.Isp | None:
    """protocol/ as commit ``rev`` holds it (bounded reader), None when it does not load; cached
    by commit id (a commit never changes)."""
    key = (root, rev)
    if key not in _PROTOCOLS:
        if len(_PROTOCOLS) > 64:
            _PROTOCOLS.clear()
        try:
            _PROTOCOLS[key] = head_protocol(root, rev)
        except (IspError, ValueError):
            _PROTOCOLS[key] = None
    return _PROTOCOLS[key]


def is_encrypted_path(path: str) -> bool:
    return path.startswith(("submissions/", "aggregates/")) or path == keys.SITE_CREDENTIALS


def generated_recipients(root: Path, rev: str, path: str, envelope: bytes) -> bool:
    """``envelope`` at ``path`` carries exactly the recipients ``isp keys sync`` gives it from
    ``rev``'s own agencies.yaml."""
    isp = protocol_at(root, rev)
    return isp is not None and crypto.recipients(envelope) == keys.required_recipients(isp, path)


def _agency_recipients(data: bytes | None) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(CI's recipients, agency -> its recipients) of one agencies.yaml version ({} when unreadable)."""
    try:
        doc = yamlfiles.load(data or b"", AGENCIES) if data else None
    except yamlfiles.YamlError:
        doc = None
    if not isinstance(doc, dict):
        return frozenset(), {}
    ci, agencies = doc.get("ci"), doc.get("agencies")
    if not isinstance(agencies, dict):
        agencies = {}

    def listed(node: object) -> frozenset[str]:
        found = node.get("age_recipients") if isinstance(node, dict) else None
        return frozenset(str(r) for r in found) if isinstance(found, list) else frozenset()

    return listed(ci), {str(code): listed(entry) for code, entry in agencies.items()}


def _rotation(ctx: Context, sha: str, parents: list[str], paths: list[str]) -> tuple[bool, list[str], list[str]] | None:
    """(CI's key changed?, the other recipients changed, the envelopes written) by commit ``sha``
    itself: a change counts only when it differs from every parent (a merge brings changes its
    own commits made). None when the commit touches neither agencies.yaml nor an envelope."""
    envelopes = [p for p in paths if is_encrypted_path(p)]
    if not parents or (AGENCIES not in paths and not envelopes):
        return None
    found = git.read_many(ctx.root, [f"{rev}:{p}" for p in [AGENCIES, *envelopes] for rev in (sha, *parents)])
    ci_after, after = _agency_recipients(found.get(f"{sha}:{AGENCIES}"))
    befores = [_agency_recipients(found.get(f"{p}:{AGENCIES}")) for p in parents]
    ci_keys = set(ctx.isp.ci.age_recipients) | ci_after | {r for ci, _ in befores for r in ci}
    ci_changed = all(ci != ci_after for ci, _ in befores)
    others = [
        f"{code}'s keys"
        for code in sorted(set(after).union(*(b for _, b in befores)))
        if all(b.get(code, frozenset()) != after.get(code, frozenset()) for _, b in befores)
    ]
    for path in envelopes:  # a file added or deleted is no re-wrap: its own rules judge it
        versions = [found.get(f"{rev}:{path}") for rev in (sha, *parents)]
        if any(v is None for v in versions):
            continue
        have, *had = [crypto.recipients(v or b"") for v in versions]
        if any(h == have for h in had):
            continue
        ci_changed = ci_changed or all((h ^ have) & ci_keys for h in had)
        if all((h ^ have) - ci_keys for h in had):
            others.append(f"the recipients of {path}")
    return ci_changed, others, envelopes


def check_ci_rotations(ctx: Context) -> None:
    """A CI-key rotation that changes other recipients too (see the module doc)."""
    coordinators = ctx.isp.coordinators()
    for sha, changes in ctx.own.items():
        found = _rotation(ctx, sha, ctx.parents[sha], [p for _, p in changes])
        if found is None or not found[0] or not found[1]:
            continue
        _, others, envelopes = found
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        if not ctx.by_coordinator(sha):
            detail = f"only a coordinator ({', '.join(coordinators)}) may, and this commit is not signed by one"
        else:
            detail = _not_generated(ctx, sha, envelopes)
        if detail:
            ctx.violation(AGENCIES, errors.CI_ROTATION_RECIPIENTS, commit=sha[:10], others=shown, detail=detail)


def _not_generated(ctx: Context, sha: str, envelopes: list[str]) -> str:
    """Why commit ``sha``'s recipients are not what `isp keys sync` writes from its own agencies.yaml
    ("" when they are)."""
    isp = protocol_at(ctx.root, sha)
    if isp is None:
        return "its protocol/ does not load"
    found = git.read_many(ctx.root, [f"{sha}:{keys.SOPS_CONFIG}", *(f"{sha}:{p}" for p in envelopes)])
    config = found.get(f"{sha}:{keys.SOPS_CONFIG}")
    if config is None or config.decode("utf-8", "replace") != keys.sops_config(isp):
        return f"its {keys.SOPS_CONFIG} is not what `isp keys sync` writes from its agencies.yaml"
    wrong = [
        p
        for p in envelopes
        if (data := found.get(f"{sha}:{p}")) is not None
        and crypto.is_envelope(data)
        and crypto.recipients(data) != keys.required_recipients(isp, p)
    ]
    if wrong:
        return f"{wrong[0]} is not encrypted for what `isp keys sync` gives it from this commit's agencies.yaml"
    return ""


def check_attribution(ctx: Context, changes: list[Change]) -> None:
    """Each changed path's head version (mode and object) is one that a commit of the pull request
    writes itself (see the module doc)."""
    owners: dict[str, set[str]] = {}
    for sha, own in ctx.own.items():
        for _status, path in own:
            owners.setdefault(sha, set()).add(path)
    wanted = {c.path for c in changes}
    written: dict[str, set[tuple[str, str] | None]] = {path: set() for path in wanted}
    for sha, paths in owners.items():
        mine = sorted(paths & wanted)
        if not mine:
            continue
        entries = {e.path: (e.mode, e.object_id) for e in git.ls_tree(ctx.root, sha, *mine)}
        for path in mine:
            written[path].add(entries.get(path))
    for change in changes:
        if (None if change.deleted else (change.new_mode, change.new_blob)) in written[change.path]:
            continue
        detail = "no commit of it changes this path" if not written[change.path] else "its commits leave other versions"
        ctx.violation(change.path, errors.UNATTRIBUTED_CHANGE, detail=detail)


SENT_LOG = "protocol/notifications/sent.jsonl"
_SENT_FIELDS = frozenset({"id", "kind", "to", "sent"})


def _sent_record(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return (
        isinstance(record, dict)
        and set(record) == _SENT_FIELDS
        and all(isinstance(v, str) and v for v in record.values())
    )


def check_notification_log(ctx: Context, changes: list[Change]) -> None:
    """Append-only, well-formed, a coordinator's commits only (see the module doc)."""
    if not any(c.path == SENT_LOG for c in changes):
        return
    found = git.read_many(ctx.root, [f"{ctx.start}:{SENT_LOG}", f"{ctx.head}:{SENT_LOG}"])
    before = (found[f"{ctx.start}:{SENT_LOG}"] or b"").decode("utf-8", "replace")
    after = (found[f"{ctx.head}:{SENT_LOG}"] or b"").decode("utf-8", "replace")
    signers = [sha for sha, own in ctx.own.items() if any(p == SENT_LOG for _, p in own)]
    if not after.startswith(before):
        why = "it removes or changes lines already logged"
    elif not all(_sent_record(line) for line in after[len(before) :].splitlines()):
        why = "a line it adds is not a sent-message record {id, kind, to, sent}"
    elif not signers or not all(ctx.by_coordinator(sha) for sha in signers):
        why = "only a coordinator's signed commit may add to it (`isp notify` on the default branch writes it)"
    else:
        return
    ctx.violation(SENT_LOG, errors.NOTIFICATION_LOG, detail=why)


MEETINGS = "protocol/meetings/"


def _attended(data: bytes | None, path: str) -> set[str]:
    """The e-mails a minutes version lists as attending (none when it is unreadable: its own
    rules report that)."""
    try:
        record = yamlfiles.load(data or b"", path)
    except IspError:
        return set()
    people = record.get("attended") if isinstance(record, dict) else None
    return {str(p).strip().lower() for p in people} if isinstance(people, list) else set()


def check_minutes(ctx: Context) -> None:
    """Each commit writing minutes: a coordinator's, or an attendee's (see the module doc)."""

    writes = [
        (sha, path)
        for sha, own in ctx.own.items()
        for _, path in own
        if path.startswith(MEETINGS) and path.endswith(".yaml")  # not its README
    ]
    found = git.read_many(ctx.root, [f"{sha}:{path}" for sha, path in writes])
    for sha, path in writes:
        info = ctx.infos[sha]
        if ctx.by_coordinator(sha):
            continue
        if info.verified and (info.principal or "").lower() in _attended(found.get(f"{sha}:{path}"), path):
            continue
        ctx.violation(path, errors.MINUTES_SIGNER, commit=sha[:10], signer=signer_label(info))


FUTURE_SLACK = timedelta(days=1)  # clocks and time zones; nothing honest is dated further ahead


def check_commit_dates(ctx: Context, now: datetime | None = None) -> None:
    """No commit of the pull request is dated in the future (the wall clock, not ``ctx.today``:
    the gate may be asked to judge as of another day, but no commit can come from the future)."""
    now = now or datetime.now(UTC)
    for sha, info in ctx.infos.items():
        if info.committed > now + FUTURE_SLACK:
            ctx.violation(
                f"commit {sha[:10]}",
                errors.COMMIT_DATE,
                commit=sha[:10],
                committed=info.committed.isoformat(timespec="minutes"),
                now=now.isoformat(timespec="minutes"),
            )


SETTINGS_FILES = ("protocol/activityinfo.yaml", "protocol/sites.yaml", "protocol/protocol.yaml")
SETTINGS_DIRS = ("protocol/imports/",)
AMENDMENT_SECTIONS = ("sharing", "disclosure")  # protocol.yaml: judged by the amendment rules


def _is_settings(path: str) -> bool:
    return path in SETTINGS_FILES or (path.startswith(SETTINGS_DIRS) and path.endswith(".yaml"))


def _settings(data: bytes | None, path: str) -> object:
    """The file's data as the settings rule compares it (a sentinel when absent or unreadable)."""
    if data is None:
        return "<absent>"
    try:
        doc = yamlfiles.load(data, path)
    except IspError:
        return "<unreadable>"
    if path == "protocol/protocol.yaml" and isinstance(doc, dict):
        return {k: v for k, v in doc.items() if k not in AMENDMENT_SECTIONS}
    return doc


def check_protocol_settings(ctx: Context) -> None:
    """Shared settings: a coordinator's commits only (see the module doc)."""

    writes = [
        (sha, path)
        for sha, own in ctx.own.items()
        for _, path in own
        if _is_settings(path) and not ctx.by_coordinator(sha)
    ]
    specs = [f"{rev}:{path}" for sha, path in writes for rev in (sha, *ctx.parents[sha])]
    found = git.read_many(ctx.root, specs)
    for sha, path in writes:
        after = _settings(found.get(f"{sha}:{path}"), path)
        if any(_settings(found.get(f"{p}:{path}"), path) == after for p in ctx.parents[sha]):
            continue
        ctx.violation(path, errors.PROTOCOL_SETTINGS, commit=sha[:10], signer=signer_label(ctx.infos[sha]))
