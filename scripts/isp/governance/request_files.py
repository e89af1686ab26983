"""External data requests: ``requests/<ID>.yaml``, decisions that count only when signed, status, CI check.

A request carries the protocol's five required elements (who asks, what for, how the data will be
used, how results come back, the recipient's written guarantee) and the data asked for. Each
data-gathering agency records its decision in ``decisions``; a decision **counts only when the
commit that last set it is signed by a focal point of that agency**, checked against
``protocol/allowed_signers`` (see :func:`signed_entries`). Silence is never consent.

Public API (contract E): :func:`load`, :func:`all_requests`, :func:`status` ->
:class:`~isp.governance.request_status.RequestStatus`, :func:`check`, :func:`record_release`; also
:func:`new_request` and :func:`decide`. The pieces live in their own modules: the file format
(:mod:`isp.governance.request_models`), the state machine (:mod:`isp.governance.request_states`), the
status built from it with the pure ``timeline`` (:mod:`isp.governance.request_status`), the rules of
a request file (:mod:`isp.governance.request_rules`), and the signed history of decisions
(:mod:`isp.history.attribution`, shared with breach agreements and membership approvals).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from isp import errors, yamlfiles
from isp.errors import IspError, Problem, UsageError, ValidationFailed
from isp.fsutil import write_text_atomic
from isp.governance.breaches import breach_intervals
from isp.governance.request_models import (
    REQUESTS_DIR,
    Decision,
    Release,
    Request,
    coordinators_at,
    path_of,
)
from isp.governance.request_rules import content_problems
from isp.governance.request_status import Interval, RequestStatus, first_lapse, timeline
from isp.history import git, provenance
from isp.history.attribution import (
    Attribution,
    Revision,
    entries_of,
    list_tree,
    mapping_of,
    prefetch,
    resolve,
    revisions,
    signed_entries,
    unowned_edits,
    yaml_at,
)
from isp.protocol import loading, workdays
from isp.protocol.models import Isp

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
GENERATED_ID = re.compile(r"^REQ-(\d{4})-(\d{3,})$")
RELEASE_RECORD_DAYS = 7  # a release recorded by a pull request is dated at most this many days back


def parse(data: bytes | str, rel: str) -> Request:
    """A request from YAML text; :class:`ValidationFailed` lists every schema problem."""
    try:
        raw = yamlfiles.load(data, rel) or {}
    except yamlfiles.YamlError as exc:
        raise ValidationFailed([exc.problem]) from None
    if not isinstance(raw, dict):
        raise ValidationFailed([Problem.of(errors.SCHEMA, rel, detail="a request is a mapping of fields")])
    try:
        return Request.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(yamlfiles.schema_problems(exc, rel), f"{rel}: not a valid request") from None


def load(root: Path, request_id: str) -> Request:
    """``requests/<ID>.yaml`` from the working tree."""
    path = root / path_of(request_id)
    if not ID_PATTERN.match(request_id) or not path.is_file():
        raise IspError(f"{path_of(request_id)}: no such request (list them with `isp request status`)")
    return parse(path.read_bytes(), path_of(request_id))


def request_ids(root: Path) -> list[str]:
    folder = root / REQUESTS_DIR
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def all_requests(root: Path) -> list[Request]:
    """Every request in the working tree, by id; raises listing every unreadable file."""
    found, problems = [], []
    for request_id in request_ids(root):
        try:
            found.append(load(root, request_id))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems, f"{len(problems)} problem(s) in requests/")
    return found


# --- writing -------------------------------------------------------------------------------


def next_id(root: Path, day: date) -> str:
    """``REQ-<year>-<NNN>``, one more than the highest number used that year."""
    numbers = [
        int(m.group(2)) for i in request_ids(root) if (m := GENERATED_ID.match(i)) and m.group(1) == str(day.year)
    ]
    return f"REQ-{day.year}-{max(numbers, default=0) + 1:03d}"


WIDTH, INDENT = 100, (2, 4, 2)  # how request files are laid out when the tool writes them


def _edit(root: Path, request: Request) -> AbstractContextManager[Any]:
    return yamlfiles.edit(root / request.path, width=WIDTH, indent=INDENT)


HEADER = (
    "# An external data request (isp request new). Each data-gathering agency records its decision\n"
    "# with `isp request decide`, in a commit signed by one of its focal points.\n"
)


def new_request(root: Path, fields: Mapping[str, Any], isp: Isp | None = None) -> Request:
    """Validate and write a new request; nothing is written when any rule fails."""
    isp = isp or loading.load(root)
    values = dict(fields)
    values.setdefault("id", next_id(root, values.get("received") or workdays.today()))
    values.setdefault("decisions", {})
    try:
        request = Request.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed(yamlfiles.schema_problems(exc, path_of(str(values["id"])))) from None
    if not ID_PATTERN.match(request.id):
        raise UsageError(f"'{request.id}' is not a usable request id: letters, digits, '.', '_' or '-'")
    if (root / request.path).exists():
        raise IspError(f"{request.path} already exists: choose another --id")
    others = {r.id: r for r in readable_requests(root)}
    problems = [p for p in content_problems(isp, request, others) if p.severity == "error"]
    if problems:
        raise ValidationFailed(problems, f"{request.path}: not written")
    doc = request.model_dump(mode="python", exclude_none=True, exclude={"releases"})
    write_text_atomic(root / request.path, HEADER + yamlfiles.dump(doc, width=WIDTH, indent=INDENT))
    return request


def readable_requests(root: Path) -> list[Request]:
    found = []
    for request_id in request_ids(root):
        try:
            found.append(load(root, request_id))
        except IspError:
            continue
    return found


def decide(
    root: Path,
    request_id: str,
    agency: str,
    approve: bool,
    reason: str | None,
    day: date,
    isp: Isp | None = None,
    profile: str | None = None,
) -> Decision:
    """Record ``agency``'s decision in the file (it counts once committed and signed).

    ``profile``: an approval's condition, the disclosure profile the release must use at least
    (the release uses the strictest any approver named)."""
    isp = isp or loading.load(root)
    if profile is not None:
        if not approve:
            raise UsageError("--profile is a condition of an approval: give it with --approve")
        isp.protocol.disclosure.strictest([profile])
    request = load(root, request_id)
    isp.agency(agency)
    if agency not in isp.data_gathering():
        raise IspError(f"{agency} is not a data-gathering agency: only {', '.join(isp.data_gathering())} decide")
    if not approve and not (reason or "").strip():
        raise UsageError("a denial needs its reason: add --reason TEXT")
    if day < request.issued:
        raise IspError(
            f"{request.path}: a decision cannot be dated {day}, before the request was issued ({request.issued})"
        )
    decision = Decision(
        decision="approve" if approve else "deny", date=day, reason=(reason or "").strip() or None, profile=profile
    )
    with _edit(root, request) as doc:
        if doc.get("decisions") is None:
            doc["decisions"] = {}
        doc["decisions"][agency] = decision.model_dump(mode="python", exclude_none=True)
    return decision


def record_release(
    root: Path,
    request_id: str,
    release_id: str,
    *,
    day: date,
    recipient: str,
    files: Mapping[str, str] | None = None,
    profile: str | None = None,
    suppressed_cells: int | None = None,
    source_commit: str | None = None,
) -> Release:
    """Append a release (its id, date, recipient and the sha256 of each file) to the request.

    Called by ``isp release`` after :func:`isp.governance.membership.release_blockers` came back empty."""
    request = load(root, request_id)
    if any(r.id == release_id for r in request.releases):
        raise IspError(f"{request.path}: release {release_id} is already recorded")
    release = Release(
        id=release_id,
        date=day,
        recipient=recipient,
        files=dict(files or {}),
        profile=profile,
        suppressed_cells=suppressed_cells,
        source_commit=source_commit or None,
    )
    with _edit(root, request) as doc:
        if doc.get("releases") is None:
            doc["releases"] = []
        doc["releases"].append(release.model_dump(mode="python", exclude_none=True))
    return release


def required_profile(root: Path, isp: Isp, request: Request, default: str = "external") -> str:
    """The disclosure profile a release of ``request`` uses: the strictest of ``default`` and every
    profile named by an approval that counts (signed and committed)."""
    counted, _ = counted_decisions(root, request)
    named = [d.profile for d in counted.values() if d.decision == "approve"]
    return isp.protocol.disclosure.strictest(named, default)


def commit_file(root: Path, rel: str, message: str) -> str:
    """Commit ``rel`` alone with the user's own git identity, signed (``git commit -S``)."""
    try:
        return git.commit(root, message, rel, sign=True)
    except git.GitError as exc:
        raise IspError(
            f"{rel}: written, but `git commit -S` failed ({exc.reason}); "
            "set up SSH signing (git config gpg.format ssh; user.signingkey) and commit it signed"
        ) from None


def counted_decisions(root: Path, request: Request, head: str = "HEAD") -> tuple[dict[str, Decision], dict[str, str]]:
    """The decisions that count (committed at ``head``, attributed to a signed commit of their
    agency, and the same in the working tree), and a note for each one that does not."""
    if not git.has_commits(root):
        return {}, {a: "not in a git repository: the decision cannot be verified" for a in request.decisions}
    head = resolve(root, head)
    return _counted(root, request, head, yaml_at(root, head, request.path))


def _counted(
    root: Path, request: Request, head: str, committed_file: dict[str, Any]
) -> tuple[dict[str, Decision], dict[str, str]]:
    attribution = signed_entries(root, request.path, "decisions", "decision", head)
    committed = entries_of(committed_file, "decisions")
    counted, notes = {}, {}
    for agency, decision in request.decisions.items():
        if not _same_decision(committed.get(agency), decision):
            notes[agency] = "recorded but not committed yet: it counts once committed and signed"
        elif attribution.entries.get(agency) is None:
            notes[agency] = f"not in a commit signed by a focal point of {agency}: it does not count"
        else:
            counted[agency] = decision
    return counted, notes


def _same_decision(stored: Any, decision: Decision) -> bool:
    try:
        return Decision.model_validate(stored) == decision
    except ValidationError:
        return False


def status(
    root: Path,
    request_id: str,
    today: date | None = None,
    isp: Isp | None = None,
    breaches: list[Interval] | None = None,
) -> RequestStatus:
    """Where request ``request_id`` stands on ``today`` (default: :func:`isp.protocol.workdays.today`).
    ``breaches``: the register's open periods, when the caller already has them."""
    isp = isp or loading.load(root)
    today = today or workdays.today()
    request = load(root, request_id)
    counted, notes = counted_decisions(root, request)
    breaches = breach_intervals(root, isp) if breaches is None else breaches
    return _with_validity(isp, timeline(isp, request, counted, breaches, today, notes), today)


def _with_validity(isp: Isp, result: RequestStatus, today: date) -> RequestStatus:
    if first_lapse(isp, today, today):
        result.notes.append(f"the protocol is not in force on {today}")
    return result


def all_statuses(root: Path, today: date | None = None, isp: Isp | None = None) -> list[RequestStatus]:
    """Every request's status: the history of requests/ walked once, the files read in one batch."""
    isp = isp or loading.load(root)
    today = today or workdays.today()
    breaches = breach_intervals(root, isp)
    found = [load(root, r) for r in request_ids(root)]
    if not git.has_commits(root):
        return [status(root, r.id, today, isp, breaches) for r in found]
    head = resolve(root, "HEAD")
    prefetch(root, REQUESTS_DIR, head)
    blobs = git.read_many(root, [f"{head}:{r.path}" for r in found])
    result = []
    for request in found:
        counted, notes = _counted(root, request, head, mapping_of(blobs[f"{head}:{request.path}"]))
        result.append(_with_validity(isp, timeline(isp, request, counted, breaches, today, notes), today))
    return result


# --- check: what CI runs ---------------------------------------------------------------------


def _tree_requests(root: Path, head: str) -> dict[str, bytes]:
    paths = list_tree(root, head, REQUESTS_DIR)
    blobs = git.read_many(root, [f"{head}:{p}" for p in paths])
    return {p: data for p in paths if (data := blobs[f"{head}:{p}"]) is not None}


def _substance(content: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k not in ("decisions", "releases")}


def _edits_after_decisions(path: str, revs: list[Revision]) -> Iterable[Problem]:
    for rev in revs:  # every parent of a merge: an edit made on a branch from before the decisions counts too
        decided = [p for p in rev.parents if entries_of(p, "decisions")]
        if not rev.in_review or not decided:
            continue
        if any(_substance(p) != _substance(rev.after) for p in decided) and rev.after:
            yield Problem.of(
                errors.CHANGED_AFTER_DECISIONS,
                path,
                fix="leave it as decided, and issue a new request for the new terms",
                commit=rev.sha[:10],
            )


def _deleted(root: Path, base: str, head: str) -> Iterable[Problem]:
    for sha in provenance.commits_between(root, base, head):
        for change, path in provenance.changed_paths(root, sha):
            if change == "D" and path.startswith(f"{REQUESTS_DIR}/") and path.endswith(".yaml"):
                yield Problem.of(errors.REQUEST_DELETED, path, fix="restore the file", commit=sha[:10])


def _release_rules(
    isp: Isp, request: Request, counted: Mapping[str, Decision], breaches: list[Interval]
) -> Iterable[Problem]:
    for release in request.releases:
        state = timeline(isp, request, counted, breaches, release.date).state
        if state != "approved":
            yield Problem.of(
                errors.RELEASE_WITHOUT_APPROVAL,
                request.path,
                column="releases",
                release=release.id,
                date=release.date,
                state=state,
            )


def _pre_issue_commits(request: Request, attribution: Attribution) -> Iterable[Problem]:
    for agency, info in attribution.entries.items():
        if info is not None and info.committed.date() < request.issued - timedelta(days=1):
            error = errors.MEDIA_PRE_APPROVED if request.type == "media" else errors.DECISION_BEFORE_ISSUED
            where, when = f"decisions.{agency}", f"committed on {info.committed.date()}"
            yield Problem.of(error, request.path, column=where, where=where, when=when, issued=request.issued)


def check_file(
    root: Path,
    isp: Isp,
    path: str,
    data: bytes,
    others: Mapping[str, Request],
    head: str,
    base: str | None,
    breaches: list[Interval],
) -> list[Problem]:
    """Every rule for one request file as committed at ``head``."""
    try:
        request = parse(data, path)
    except ValidationFailed as exc:
        return exc.problems
    problems = []
    if Path(path).stem != request.id:
        problems.append(Problem.of(errors.ID, path, column="id", id=request.id))
    problems += content_problems(isp, request, others)
    attribution = signed_entries(root, path, "decisions", "decision", head, base)
    problems += attribution.problems
    problems += _pre_issue_commits(request, attribution)
    if base:
        revs = revisions(root, path, head, base)
        problems += _edits_after_decisions(path, revs)
        problems += unowned_edits(path, revs, "decisions", coordinators_at(root, base), "request")
    counted = {a: d for a, d in request.decisions.items() if attribution.entries.get(a) is not None}
    problems += _release_rules(isp, request, counted, breaches)
    return problems


def check(
    root: Path, base: str | None = None, head: str = "HEAD", isp: Isp | None = None, since: str | None = None
) -> list[Problem]:
    """Every request rule on the requests committed at ``head``; with ``base``, the changes the
    pull request ``base..head`` makes are judged strictly (see :func:`signed_entries`). ``since``:
    where the head left the base (default ``base``): releases already recorded there are not the
    pull request's own."""
    isp = isp or loading.load(root)
    head = provenance.resolve(root, head)
    prefetch(root, REQUESTS_DIR, head, base)
    files = _tree_requests(root, head)
    others = {}
    for path, data in files.items():
        try:
            others[Path(path).stem] = parse(data, path)
        except ValidationFailed:
            continue
    breaches = breach_intervals(root, isp, head)
    problems = [
        p
        for path, data in sorted(files.items())
        for p in check_file(root, isp, path, data, others, head, base, breaches)
    ]
    if base:
        problems += _deleted(root, base, head)
        problems += _backdated_releases(others, _tree_requests(root, provenance.resolve(root, since or base)))
    return problems


def _backdated_releases(heads: Mapping[str, Request], base_files: Mapping[str, bytes]) -> list[Problem]:
    """Releases a pull request records must be dated within the last week by the clock of the
    machine that checks it (CI's). A release is judged by its date (approved then, no breach
    open, the protocol in force); without this rule a package made today with ``ISP_TODAY``
    pinned to an earlier day could be dated back to before a breach, a denial or the expiry."""
    known: set[str] = set()
    for path, data in base_files.items():
        try:
            known |= {r.id for r in parse(data, path).releases}
        except ValidationFailed:
            continue
    today = workdays.today()  # CI never pins it: the workflows set no ISP_TODAY
    problems = []
    for request in heads.values():
        for release in request.releases:
            if release.id in known or today - timedelta(days=RELEASE_RECORD_DAYS) <= release.date <= today:
                continue
            problems.append(
                Problem.of(
                    errors.RELEASE_DATE,
                    request.path,
                    column="releases",
                    days=RELEASE_RECORD_DAYS,
                    release=release.id,
                    date=release.date,
                    today=today,
                )
            )
    return problems
